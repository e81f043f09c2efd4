/** Content-addressed blobs (M07 §3): chunking, manifests, the ChunkStore port, BlobStore and verified fetching. */
export * from './limits.js';
export * from './hash.js';
export * from './chunker.js';
export * from './manifest.js';
export * from './chunk-store.js';
export * from './blob-store.js';
export * from './fetch.js';

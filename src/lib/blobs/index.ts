/** Content-addressed blobs (M07): chunking, manifests, the ChunkStore port, BlobStore, verified fetching, and the file.* capabilities with their bus clients. */
export * from './limits.js';
export * from './hash.js';
export * from './chunker.js';
export * from './manifest.js';
export * from './chunk-store.js';
export * from './blob-store.js';
export * from './fetch.js';
export * from './file-schemas.js';
export * from './file-client.js';
export * from './file-service.js';

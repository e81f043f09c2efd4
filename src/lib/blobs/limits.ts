/**
 * Bounds on what a peer may make us hold or parse. M07 names none for manifests, so these are ours: 1 GiB is
 * 4,096 chunks, whose canonical manifest is about 450 KB; a manifest larger than 512 KiB is refused unread.
 */
import { CHUNK_SIZE_BYTES } from '../core/index.js';

export const MAX_BLOB_BYTES = 1024 * 1024 * 1024;
export const MAX_CHUNKS_PER_BLOB = MAX_BLOB_BYTES / CHUNK_SIZE_BYTES;
export const MAX_MANIFEST_BYTES = 512 * 1024;
/** Chunks written per ChunkStore.put while adding a blob: one transaction per 4 MiB. */
export const ADD_BATCH_CHUNKS = 16;

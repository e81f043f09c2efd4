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
/**
 * Chunks BlobStore.chunksInOrder reads at once (1 MiB), for a holder streaming a blob or a blob read whole: one
 * IndexedDB transaction per group. A file.read stream holds at most two groups read ahead of what it has sent.
 */
export const READ_GROUP_CHUNKS = 4;

/** file.list answers at most this many CIDs, with `truncated` when there are more. */
export const FILE_LIST_MAX_CIDS = 1000;
/** file.advertise takes at most this many CIDs per call. */
export const FILE_ADVERTISE_MAX_CIDS = 1000;
/**
 * file.read calls one peer may make per second before `rate_limited` (the bus default is 10); the bus's per-peer
 * total (100 calls/s) applies as well. fetchBlob asks runs of up to FETCH_RUN_CHUNKS chunks per call, so a download
 * makes a few calls a second; file.put still pulls one chunk per call.
 */
export const FILE_READ_RATE_PER_SECOND = 100;
/** Chunks one file.read may ask for by index (`input.chunks`): 16 MiB. */
export const FILE_READ_MAX_CHUNKS_PER_CALL = 64;
/**
 * Chunks fetchBlob asks of one source per call, at most: 4 MiB, the stream window's worth (16 frames), so one call
 * keeps the link busy while the next is being set up, and a slow or failing source holds back at most that much.
 */
export const FETCH_RUN_CHUNKS = 16;
/** Chunks in fetchBlob's first run to a source; each run answered whole doubles it, up to FETCH_RUN_CHUNKS. */
export const FETCH_FIRST_RUN_CHUNKS = 2;
/**
 * Verified chunks fetchBlob writes per ChunkStore.put (one IndexedDB transaction each, DESIGN §5): 1 MiB. One write
 * runs while the next batch fills; a full batch waits for it, so at most two batches are held.
 */
export const FETCH_WRITE_BATCH_CHUNKS = 4;
/** Chunks a file.put server pulls from the caller at once. */
export const PUT_PULL_CONCURRENCY = 4;
/** file.put reports progress after this many chunks, or after PUT_PROGRESS_EVERY_MS, whichever comes first. */
export const PUT_PROGRESS_EVERY_CHUNKS = 8;
export const PUT_PROGRESS_EVERY_MS = 1000;
/** Longest silence between the events of one file.read before a fetcher gives up on the peer. */
export const FILE_READ_IDLE_TIMEOUT_MS = 30_000;
/**
 * A manifest whose canonical JSON is larger than this (about 480 chunks, a 120 MiB blob) does not fit one 64 KiB
 * frame as JSON: file.read sends it as bytes (`{cid, bytes}`, carried like a chunk and hashed to its CID on arrival),
 * and pushBlob names it by CID for the receiver to read. Bytes in one event are at most CHUNK_SIZE_BYTES, so across
 * a link a manifest, and so a blob, is bounded by that: about 2,400 chunks, 600 MiB.
 */
export const MANIFEST_JSON_MAX_BYTES = 48 * 1024;

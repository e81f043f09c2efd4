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

/** file.list answers at most this many CIDs, with `truncated` when there are more. */
export const FILE_LIST_MAX_CIDS = 1000;
/** file.advertise takes at most this many CIDs per call. */
export const FILE_ADVERTISE_MAX_CIDS = 1000;
/**
 * file.read calls one peer may make per second before `rate_limited` (the bus default is 10). A fetch asks one chunk
 * per call, paced by its own concurrency bound; 100 calls of 256 KiB is 25 MiB/s, more than a link carries.
 */
export const FILE_READ_RATE_PER_SECOND = 100;
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

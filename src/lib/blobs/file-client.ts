/**
 * The callers' side of the file service: `busChunkSource` lets fetchBlob ask one node for a blob's manifest and
 * chunks with file.read, and `pushBlob` offers a blob to one node with file.put (which then pulls the chunks it lacks
 * from us, see file-service.ts). Everything a peer sends is untrusted: fetchBlob checks manifests and hashes chunks.
 */
import { HearthError } from '../core/index.js';
import type { CapabilityBus } from '../bus/index.js';
import type { BlobStore } from './blob-store.js';
import type { ChunkSource } from './fetch.js';
import type { ChunkEventData } from './file-schemas.js';
import { FILE_READ_IDLE_TIMEOUT_MS, MANIFEST_JSON_MAX_BYTES } from './limits.js';
import { manifestBody } from './manifest.js';

export const FILE_VERSION = '1.0';

/** The part of the bus the file clients use: a stream addressed to one node. */
export type FileBus = Pick<CapabilityBus, 'stream'>;

export interface BusChunkSourceOptions {
  /** Longest silence between file.read events; default FILE_READ_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
}

/**
 * A fetchBlob source backed by `nodeId`'s file.read. `label` is the source id fetchBlob reports (default the
 * NodeID). A peer that lacks the CID answers not_found, which fetchBlob counts as "ask someone else".
 */
export function busChunkSource(bus: FileBus, nodeId: string, label = nodeId, options: BusChunkSourceOptions = {}): ChunkSource {
  const idleTimeoutMs = options.idleTimeoutMs ?? FILE_READ_IDLE_TIMEOUT_MS;
  const stream = (input: Record<string, unknown>, signal?: AbortSignal) =>
    bus.stream('file.read', FILE_VERSION, { params: {}, input }, { node: nodeId, signal, timeoutMs: idleTimeoutMs });
  const read = (cid: string, manifestOnly: boolean, signal?: AbortSignal) => stream(manifestOnly ? { cid, manifest_only: true } : { cid }, signal);
  const odd = (cid: string, what: string) => new HearthError('bad_request', `${label} answered file.read of ${cid} with ${what}`);
  /** Set when the peer answered `input.chunks` with a whole blob (it predates runs): ask it chunk by chunk then. */
  let noRuns = false;

  const source: ChunkSource = {
    id: label,
    // Chunk bytes from a peer were hashed against the event's signed `cid` by the transport before we see them (a
    // mismatch fails the call with bad_request), and each `cid` is checked against the one asked below: a second
    // BLAKE3 pass in fetchBlob cost the downloader a tenth of its CPU. Bytes from the own node come from its store,
    // verified on read.
    verifiesChunks: true,

    async manifest(cid, signal) {
      let manifest: unknown;
      for await (const event of read(cid, true, signal)) {
        // A manifest too large for a JSON frame comes as its bytes (already hashed to `cid` by the transport).
        if (event.event === 'manifest' && manifest === undefined) manifest = (event.data as { bytes?: unknown } | null)?.bytes ?? event.data;
        else if (event.event === 'chunk' && manifest === undefined) throw odd(cid, 'a chunk: it is a piece of a file, not a file');
        // `done`, or chunks from a peer that ignores manifest_only: leaving the loop cancels the rest.
        else break;
      }
      if (manifest === undefined) throw odd(cid, 'no manifest');
      return manifest;
    },

    async chunk(cid, signal) {
      let bytes: unknown;
      for await (const event of read(cid, false, signal)) {
        if (event.event === 'done') break;
        if (event.event !== 'chunk' || bytes !== undefined) throw odd(cid, `a "${event.event}" event where one chunk was due`);
        const data = event.data as Partial<ChunkEventData> | null;
        if (data?.cid !== cid) throw odd(cid, `the chunk ${String(data?.cid)}`);
        bytes = data.bytes;
      }
      if (bytes === undefined) throw odd(cid, 'no chunk');
      // Verified (verifiesChunks); anything but a Uint8Array is a strike against this source in fetchBlob.
      return bytes as Uint8Array;
    },

    async *chunks(blobCid, refs, signal) {
      let k = 0;
      if (!noRuns) {
        for await (const event of stream({ cid: blobCid, chunks: refs.map((ref) => ref.i) }, signal)) {
          if (event.event === 'done') break;
          // A whole blob's answer (manifest first): the peer ignored input.chunks. Leaving the loop cancels it.
          if (event.event === 'manifest' && k === 0) {
            noRuns = true;
            break;
          }
          const data = event.data as Partial<ChunkEventData> | null;
          const ref = refs[k];
          if (event.event !== 'chunk' || !ref) throw odd(blobCid, `a "${event.event}" event after ${k} of the ${refs.length} chunks asked`);
          if (data?.i !== ref.i || data.cid !== ref.cid) throw odd(blobCid, `chunk ${String(data?.i)} (${String(data?.cid)}) where chunk ${ref.i} (${ref.cid}) was due`);
          k++;
          yield data.bytes as Uint8Array; // as for chunk()
        }
        if (!noRuns && k < refs.length) throw odd(blobCid, `${k} of the ${refs.length} chunks asked`);
      }
      for (; k < refs.length; k++) yield await source.chunk(refs[k].cid, signal);
    }
  };
  return source;
}

export interface PushProgress {
  /** Chunks the receiver pulled so far. */
  received: number;
  /** Chunks it lacked (its `ready.needed`). */
  needed: number;
}

export interface PushOptions {
  /** Where the blob is; it must hold the blob whole, and this node must offer file.read for the receiver to pull. */
  store: BlobStore;
  signal?: AbortSignal;
  /** Longest silence between file.put events; default FILE_READ_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** The receiver's `ready`: indices of the chunks it lacks, which it now pulls. */
  onReady?(needed: readonly number[]): void;
  onProgress?(progress: PushProgress): void;
}

export interface PushResult {
  needed: number[];
  received: number;
  bytesReceived: number;
  /** The receiver's time for the whole put. */
  ms: number;
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0);

/** Offers the blob `manifestCid` to `nodeId` with file.put (trusted there); resolves when it is stored and pinned. */
export async function pushBlob(bus: FileBus, nodeId: string, manifestCid: string, options: PushOptions): Promise<PushResult> {
  const { store } = options;
  const manifest = await store.manifest(manifestCid);
  if (!manifest) throw new HearthError('not_found', `this node does not hold ${manifestCid}`);
  const missing = await store.missingChunks(manifest);
  if (missing.length > 0) throw new HearthError('not_found', `this node lacks ${missing.length} chunk(s) of ${manifestCid}; fetch it whole before offering it`);
  let needed: number[] = [];
  // A manifest too large for one JSON frame is named by CID; the receiver reads it from us.
  const input = manifestBody(manifest).length <= MANIFEST_JSON_MAX_BYTES ? { manifest } : { cid: manifest.cid };
  const events = bus.stream('file.put', FILE_VERSION, { params: {}, input }, { node: nodeId, signal: options.signal, timeoutMs: options.idleTimeoutMs ?? FILE_READ_IDLE_TIMEOUT_MS });
  for await (const event of events) {
    const data = (event.data ?? {}) as Record<string, unknown>;
    if (event.event === 'ready') {
      needed = Array.isArray(data.needed) ? data.needed.map(count) : [];
      options.onReady?.(needed);
    } else if (event.event === 'progress') {
      options.onProgress?.({ received: count(data.received), needed: count(data.needed) });
    } else if (event.event === 'done') {
      return { needed, received: count(data.received), bytesReceived: count(data.bytes_received), ms: count(data.ms) };
    }
  }
  throw new HearthError('internal_error', `${nodeId} ended file.put without done`);
}

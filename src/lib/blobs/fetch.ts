/**
 * Verified multi-source blob fetch (M07 §3.3, §5.6). The manifest is checked against its CID; each chunk is hashed
 * before it is stored. A source that sends bytes that do not hash to the CID (or whose bytes the transport refused
 * with bad_request) gets a strike and the chunk is asked of another; sources with `maxStrikes` strikes are dropped.
 * Only chunks the store lacks are fetched, so running again after an abort or failure resumes.
 */
import { HearthError, type BlobManifest, type ChunkRef } from '../core/index.js';
import type { BlobStore } from './blob-store.js';
import { parseManifest } from './manifest.js';

/** A peer (or anything) that may hold a blob. Both calls throw HearthError not_found when it does not. */
export interface ChunkSource {
  readonly id: string;
  /** The manifest as the peer sent it: an object, or its JSON as text or bytes. Untrusted. */
  manifest(cid: string, signal?: AbortSignal): Promise<unknown>;
  chunk(cid: string, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface SourceStats {
  chunks: number;
  bytes: number;
  strikes: number;
  failures: number;
}

export interface FetchProgress {
  bytesDone: number;
  bytesTotal: number;
  chunksDone: number;
  chunksTotal: number;
  bySource: Readonly<Record<string, SourceStats>>;
}

export interface FetchOptions {
  store: BlobStore;
  sources: readonly ChunkSource[];
  /** Chunk requests in flight to one source. */
  perSourceConcurrency?: number;
  /** Chunk requests in flight overall. */
  concurrency?: number;
  /** Attempts per chunk before the fetch fails with partition (M07 §5.6). */
  maxAttemptsPerChunk?: number;
  /** Strikes (bad bytes or a bad manifest) after which a source is no longer asked. */
  maxStrikes?: number;
  /** Pin the blob from the start, so a gc cannot take chunks of an unfinished fetch. Default true. */
  pin?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: FetchProgress) => void;
}

export interface FetchResult {
  manifest: BlobManifest;
  chunksFetched: number;
  bytesFetched: number;
  bySource: Record<string, SourceStats>;
}

interface Task {
  ref: ChunkRef;
  tried: Set<string>;
  attempts: number;
  notFound: number;
}

export async function fetchBlob(cid: string, options: FetchOptions): Promise<FetchResult> {
  const { store, sources, signal, onProgress } = options;
  const perSource = options.perSourceConcurrency ?? 2;
  const overall = options.concurrency ?? 8;
  const maxAttempts = options.maxAttemptsPerChunk ?? 3;
  const maxStrikes = options.maxStrikes ?? 3;
  if (new Set(sources.map((s) => s.id)).size !== sources.length) throw new HearthError('bad_request', 'fetchBlob: source ids must be unique');
  const stats: Record<string, SourceStats> = Object.fromEntries(sources.map((s) => [s.id, { chunks: 0, bytes: 0, strikes: 0, failures: 0 }]));
  const usable = (s: ChunkSource) => stats[s.id].strikes < maxStrikes;
  signal?.throwIfAborted();

  // A stored manifest that fails verification is deleted by store.manifest(); fetch it again then.
  const local = await store.manifest(cid).catch(() => undefined);
  const manifest = local ?? (await fetchManifest(cid, options, stats, usable));
  // Pinned before the first chunk, so a gc cannot take a half-fetched blob. A fetch that fails or is aborted keeps
  // the pin on purpose (the next fetch resumes with only the missing chunks); whoever gives up calls store.unpin(cid).
  if (options.pin ?? true) await store.pin(manifest);
  const missing = await store.missingChunks(manifest);
  const uniqueTotal = [...new Map(manifest.chunks.map((c) => [c.cid, c.size_bytes])).values()];
  const bytesTotal = uniqueTotal.reduce((n, s) => n + s, 0);
  let bytesDone = bytesTotal - missing.reduce((n, c) => n + c.size_bytes, 0);
  let chunksDone = uniqueTotal.length - missing.length;
  const report = () => onProgress?.({ bytesDone, bytesTotal, chunksDone, chunksTotal: uniqueTotal.length, bySource: stats });
  report();

  const pending: Task[] = missing.map((ref) => ({ ref, tried: new Set(), attempts: 0, notFound: 0 }));
  const inFlight = new Map<string, number>(sources.map((s) => [s.id, 0]));
  const active = new Set<Promise<void>>();
  let failure: HearthError | undefined;
  let fetched = 0;
  let bytesFetched = 0;

  const pickSource = (task: Task): ChunkSource | undefined =>
    sources
      .filter((s) => usable(s) && !task.tried.has(s.id) && inFlight.get(s.id)! < perSource)
      .sort((a, b) => inFlight.get(a.id)! - inFlight.get(b.id)! || stats[a.id].strikes - stats[b.id].strikes)[0];
  const anySourceLeft = (task: Task) => sources.some((s) => usable(s) && !task.tried.has(s.id));

  const run = async (task: Task, source: ChunkSource): Promise<void> => {
    task.tried.add(source.id);
    task.attempts++;
    inFlight.set(source.id, inFlight.get(source.id)! + 1);
    try {
      const bytes = await source.chunk(task.ref.cid, signal);
      if (signal?.aborted) return;
      if (!(bytes instanceof Uint8Array) || store.hasher.cid(bytes) !== task.ref.cid) {
        stats[source.id].strikes++; // a lying or broken peer: its bytes are dropped unstored
        pending.push(task);
        return;
      }
      await store.chunks.put([{ cid: task.ref.cid, bytes }]);
      stats[source.id].chunks++;
      stats[source.id].bytes += bytes.length;
      bytesDone += bytes.length;
      chunksDone++;
      fetched++;
      bytesFetched += bytes.length;
      report();
    } catch (err) {
      if (signal?.aborted) return;
      if (misbehaved(err)) stats[source.id].strikes++;
      else stats[source.id].failures++;
      if (err instanceof HearthError && err.code === 'not_found') task.notFound++;
      pending.push(task);
    } finally {
      inFlight.set(source.id, inFlight.get(source.id)! - 1);
    }
  };

  while ((pending.length > 0 || active.size > 0) && !failure && !signal?.aborted) {
    for (let k = 0; k < pending.length && active.size < overall; ) {
      const task = pending[k];
      if (task.attempts >= maxAttempts || !anySourceLeft(task)) {
        failure = chunkFailure(cid, task, maxAttempts);
        break;
      }
      const source = pickSource(task);
      if (!source) {
        k++;
        continue;
      }
      pending.splice(k, 1);
      const job = run(task, source).finally(() => active.delete(job));
      active.add(job);
    }
    if (active.size === 0) break;
    await Promise.race(active);
  }
  // No write may land after we return: let the requests in flight settle (their results are dropped).
  await Promise.allSettled(active);
  signal?.throwIfAborted();
  if (failure) throw failure;
  return { manifest, chunksFetched: fetched, bytesFetched, bySource: stats };
}

/**
 * A source that answers a well-formed question with bad_request sent something that does not verify (the transport
 * hashes chunk bytes on arrival and says so that way) or answered out of shape: as bad as wrong bytes, so a strike.
 */
const misbehaved = (err: unknown) => err instanceof HearthError && err.code === 'bad_request';

function chunkFailure(blobCid: string, task: Task, maxAttempts: number): HearthError {
  const where = `blob ${blobCid}: chunk ${task.ref.i} (${task.ref.cid})`;
  if (task.notFound === task.attempts) return new HearthError('not_found', `${where}: no source has it (asked ${task.attempts})`);
  return new HearthError('partition', `${where}: no verified copy after ${task.attempts} attempt(s) (limit ${maxAttempts})`);
}

async function fetchManifest(cid: string, options: FetchOptions, stats: Record<string, SourceStats>, usable: (s: ChunkSource) => boolean): Promise<BlobManifest> {
  const { store, signal } = options;
  let notFound = 0;
  let asked = 0;
  for (const source of options.sources.filter(usable)) {
    signal?.throwIfAborted();
    asked++;
    let raw: unknown;
    try {
      raw = await source.manifest(cid, signal);
    } catch (err) {
      signal?.throwIfAborted();
      if (misbehaved(err)) stats[source.id].strikes++;
      else stats[source.id].failures++;
      if (err instanceof HearthError && err.code === 'not_found') notFound++;
      continue;
    }
    try {
      const manifest = parseManifest(raw, store.hasher, cid);
      await store.storeManifest(manifest, { pin: false });
      return manifest;
    } catch (err) {
      if (!(err instanceof HearthError && err.code === 'bad_request')) throw err;
      stats[source.id].strikes++;
    }
  }
  if (asked > 0 && notFound === asked) throw new HearthError('not_found', `blob ${cid}: no source has its manifest`);
  throw new HearthError('partition', `blob ${cid}: no source gave a manifest that verifies (asked ${asked})`);
}

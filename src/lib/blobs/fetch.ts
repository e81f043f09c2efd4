/**
 * Verified multi-source blob fetch (M07 §3.3, §5.6). The manifest is checked against its CID; each chunk is hashed
 * before it is stored. A source that sends bytes that do not hash to the CID (or whose bytes the transport refused
 * with bad_request) gets a strike and the chunk is asked of another; sources with `maxStrikes` strikes are dropped.
 * Only chunks the store lacks are fetched, so running again after an abort or failure resumes.
 *
 * A source that can (`chunks`) is asked a run of chunks per request: one call per chunk cost a signed call, answer and
 * trace each, and the bus admits 100 calls a second from one peer. Runs share what is left among the free request
 * slots, start short and grow to `runChunks`; the chunk a failure hits is charged to the source, the chunks the run
 * had not reached go back untouched. Verified chunks are written in batches (one ChunkStore.put, so one IndexedDB
 * transaction, each: DESIGN §5); all are written before fetchBlob returns or throws.
 */
import { HearthError, type BlobManifest, type ChunkRef } from '../core/index.js';
import type { BlobStore } from './blob-store.js';
import type { ChunkPut } from './chunk-store.js';
import { FETCH_FIRST_RUN_CHUNKS, FETCH_RUN_CHUNKS, FETCH_WRITE_BATCH_CHUNKS } from './limits.js';
import { parseManifest } from './manifest.js';

/** A peer (or anything) that may hold a blob. The calls throw HearthError not_found when it does not. */
export interface ChunkSource {
  readonly id: string;
  /** The manifest as the peer sent it: an object, or its JSON as text or bytes. Untrusted. */
  manifest(cid: string, signal?: AbortSignal): Promise<unknown>;
  chunk(cid: string, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Optional: the bytes of several chunks of blob `blobCid` in one request, yielded in the order of `refs`. Untrusted
   * like chunk(), and checked the same way. Ending early or yielding more is the source's fault.
   */
  chunks?(blobCid: string, refs: readonly ChunkRef[], signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /**
   * True when every Uint8Array this source hands over was already hashed against the CID asked for, so fetchBlob
   * need not hash it again (busChunkSource: the transport hashes chunk bytes from a peer on arrival, binary-parts.ts;
   * the own node's file.read reads them from a BlobStore, which verifies on read). Anything else is hashed here.
   */
  readonly verifiesChunks?: boolean;
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
  /** Requests (a chunk, or a run of chunks) in flight to one source. */
  perSourceConcurrency?: number;
  /** Requests in flight overall. */
  concurrency?: number;
  /** Most chunks asked per request of a source that takes runs; default FETCH_RUN_CHUNKS. */
  runChunks?: number;
  /** Verified chunks written per ChunkStore.put; default FETCH_WRITE_BATCH_CHUNKS. */
  writeBatchChunks?: number;
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
  const maxRun = Math.max(1, options.runChunks ?? FETCH_RUN_CHUNKS);
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
  const writer = new BatchWriter(store, Math.max(1, options.writeBatchChunks ?? FETCH_WRITE_BATCH_CHUNKS));
  let failure: HearthError | undefined;
  let fetched = 0;
  let bytesFetched = 0;

  const pickSource = (task: Task): ChunkSource | undefined =>
    sources
      .filter((s) => usable(s) && !task.tried.has(s.id) && inFlight.get(s.id)! < perSource)
      .sort((a, b) => inFlight.get(a.id)! - inFlight.get(b.id)! || stats[a.id].strikes - stats[b.id].strikes)[0];
  const anySourceLeft = (task: Task) => sources.some((s) => usable(s) && !task.tried.has(s.id));
  /**
   * Runs start short and double with each run a source answers whole, up to maxRun: a link that is just starting
   * (code not yet optimised, a store not yet warm) loses packets under a burst of megabytes, and a lost tail costs a
   * retransmission timeout of half a second or more; by the time runs are long, both ends keep up.
   */
  const runBudget = new Map<string, number>(sources.map((s) => [s.id, Math.min(maxRun, FETCH_FIRST_RUN_CHUNKS)]));
  /** Chunks per request to `source` now: what is left shared among the free request slots, within its budget. */
  const runLength = (source: ChunkSource) => {
    const free = sources.filter(usable).reduce((n, s) => n + Math.max(0, perSource - inFlight.get(s.id)!), 0);
    const slots = Math.min(overall - active.size, free);
    return Math.min(runBudget.get(source.id)!, Math.max(1, Math.ceil(pending.length / Math.max(1, slots))));
  };

  /** Asks `source` for the chunks of `tasks`; each verified one is handed to the writer. */
  const run = async (tasks: Task[], source: ChunkSource): Promise<void> => {
    for (const task of tasks) {
      task.tried.add(source.id);
      task.attempts++;
    }
    inFlight.set(source.id, inFlight.get(source.id)! + 1);
    let reached = 0; // tasks[0..reached) were answered (or the failure hit the last of them)
    try {
      const refs = tasks.map((t) => t.ref);
      const answers = tasks.length > 1 && source.chunks ? source.chunks(cid, refs, signal) : oneByOne(source, refs, signal);
      for await (const bytes of answers) {
        if (signal?.aborted) return;
        const task = tasks[reached++];
        if (!task) throw new HearthError('bad_request', `${source.id} sent more chunks than the ${tasks.length} asked`);
        if (!(bytes instanceof Uint8Array) || (!source.verifiesChunks && store.hasher.cid(bytes) !== task.ref.cid)) {
          stats[source.id].strikes++; // a lying or broken peer: its bytes are dropped unstored, and the run ends here
          pending.push(task);
          return;
        }
        // Counted now; the writer stores it before fetchBlob returns (and holds back this run while it is behind).
        stats[source.id].chunks++;
        stats[source.id].bytes += bytes.length;
        bytesDone += bytes.length;
        chunksDone++;
        fetched++;
        bytesFetched += bytes.length;
        report();
        await writer.add({ cid: task.ref.cid, bytes });
      }
      if (reached < tasks.length) throw new HearthError('bad_request', `${source.id} sent ${reached} of the ${tasks.length} chunks asked`);
      runBudget.set(source.id, Math.min(maxRun, Math.max(runBudget.get(source.id)!, 2 * tasks.length)));
    } catch (err) {
      if (signal?.aborted) return;
      const task = reached < tasks.length ? tasks[reached++] : undefined;
      if (misbehaved(err)) stats[source.id].strikes++;
      else stats[source.id].failures++;
      if (!task) return; // every chunk had arrived: a late failure (the store) is the writer's to report
      if (err instanceof HearthError && err.code === 'not_found') task.notFound++;
      pending.push(task);
    } finally {
      inFlight.set(source.id, inFlight.get(source.id)! - 1);
      // Chunks the run never reached were not tried: they go back as they were, for this source or another.
      for (const task of tasks.slice(reached)) {
        task.tried.delete(source.id);
        task.attempts--;
        if (!signal?.aborted) pending.push(task);
      }
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
      // The run: this task and the next pending ones this source may still be asked for.
      const want = source.chunks ? runLength(source) : 1;
      const tasks = [task];
      pending.splice(k, 1);
      for (let j = k; j < pending.length && tasks.length < want; ) {
        const other = pending[j];
        if (other.tried.has(source.id) || other.attempts >= maxAttempts) j++;
        else tasks.push(...pending.splice(j, 1));
      }
      const job = run(tasks, source).finally(() => active.delete(job));
      active.add(job);
    }
    failure ??= writer.failure;
    if (active.size === 0) break;
    await Promise.race(active);
  }
  // No write may land after we return: let the requests in flight settle (their results are dropped), then write
  // what was verified (kept even when the fetch failed: the next one resumes after it).
  await Promise.allSettled(active);
  await writer.flush();
  signal?.throwIfAborted();
  failure ??= writer.failure;
  if (failure) throw failure;
  return { manifest, chunksFetched: fetched, bytesFetched, bySource: stats };
}

/** A source without runs, or a run of one: chunk() per ref. */
async function* oneByOne(source: ChunkSource, refs: readonly ChunkRef[], signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for (const ref of refs) yield await source.chunk(ref.cid, signal);
}

/**
 * Writes verified chunks in batches: one write runs while the next batch fills, and a full batch waits for it, so a
 * fetch holds at most two batches (plus one chunk per request) however fast chunks arrive. A write that fails is
 * kept as `failure`, which ends the fetch.
 */
class BatchWriter {
  private batch: ChunkPut[] = [];
  private writing: Promise<void> | null = null;
  failure: HearthError | undefined;

  constructor(
    private readonly store: BlobStore,
    private readonly batchChunks: number
  ) {}

  async add(chunk: ChunkPut): Promise<void> {
    this.batch.push(chunk);
    while (this.batch.length >= this.batchChunks) {
      if (this.writing) await this.writing;
      else this.start();
    }
  }

  /** Writes what is left and waits for every write. */
  async flush(): Promise<void> {
    while (this.writing || this.batch.length > 0) {
      if (this.writing) await this.writing;
      else this.start();
    }
  }

  private start(): void {
    const batch = this.batch;
    this.batch = [];
    if (this.failure) return; // the fetch is failing: nothing more is written
    this.writing = this.store.chunks.put(batch).then(
      () => {
        this.writing = null;
      },
      (err: unknown) => {
        this.writing = null;
        this.failure ??= HearthError.from(err);
      }
    );
  }
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

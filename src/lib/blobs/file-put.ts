/**
 * file.put (contract §4.10, M07 §5.7) carried as a server pull. The contract has the client stream its chunks after
 * `ready`, but our transport carries no stream from caller to server. So the caller sends the manifest; the server
 * answers `ready {needed}` with the indices of the chunks it lacks (one per distinct chunk), then fetches exactly
 * those with file.read calls addressed to the caller's node, verifies and stores each, reports `progress
 * {received, needed}`, and ends with `done {received, bytes_received, ms}` once the blob is stored and pinned. Only
 * missing chunks travel; the caller must offer file.read (every node running the file service does). For a manifest
 * too large for a JSON frame the caller sends `{cid}` instead, and the server reads the manifest from it first.
 * A chunk that does not hash to its CID fails the put with bad_request (M07 §6): there is one sender, so no retry.
 */
import { HearthError, type BlobManifest, type ChunkRef, type Clock } from '../core/index.js';
import type { CallContext, StreamEvent } from '../transport/index.js';
import type { BlobStore } from './blob-store.js';
import { busChunkSource, type FileBus } from './file-client.js';
import type { FilePutDone } from './file-schemas.js';
import { FILE_READ_IDLE_TIMEOUT_MS, PUT_PROGRESS_EVERY_CHUNKS, PUT_PROGRESS_EVERY_MS, PUT_PULL_CONCURRENCY } from './limits.js';
import { manifestBody, parseManifest } from './manifest.js';

let putsStarted = 0;

export interface PutDeps {
  store: BlobStore;
  clock: Clock;
  /** Pulls the chunks from the caller. */
  bus: FileBus;
  capacityBytes?: number;
}

/** `given`: the manifest, or its CID for one too large to send as JSON, which is then read from the caller. */
export async function* putEvents(deps: PutDeps, given: BlobManifest | string, ctx: CallContext): AsyncGenerator<StreamEvent, FilePutDone, undefined> {
  const { store, clock } = deps;
  const started = clock.now();
  const manifest = typeof given === 'string' ? await manifestFromCaller(deps, given, ctx) : given;
  // The blob is held under a temporary pin while it arrives, so neither the gc below nor a later one takes the
  // chunks already here or those received so far. The real pin comes with the last chunk.
  const holding = `put:${++putsStarted}:${started}`;
  await store.chunks.pin(holding, [manifest.cid, ...manifest.chunks.map((c) => c.cid)]);
  try {
    const missing = await store.missingChunks(manifest);
    await makeRoom(deps, manifest, missing);
    await store.storeManifest(manifest, { pin: false });
    yield { event: 'ready', data: { needed: missing.map((c) => c.i) } };

    let received = 0;
    let bytesReceived = 0;
    let reported = { received: 0, at: clock.now() };
    for await (const bytes of pullChunks(deps, missing, ctx)) {
      received++;
      bytesReceived += bytes;
      const due = received === missing.length || received - reported.received >= PUT_PROGRESS_EVERY_CHUNKS || clock.now() - reported.at >= PUT_PROGRESS_EVERY_MS;
      if (!due) continue;
      reported = { received, at: clock.now() };
      yield { event: 'progress', data: { received, needed: missing.length } };
    }
    await store.pin(manifest);
    return { received, bytes_received: bytesReceived, ms: clock.now() - started };
  } finally {
    await store.chunks.unpin(holding);
  }
}

async function manifestFromCaller(deps: PutDeps, cid: string, ctx: CallContext): Promise<BlobManifest> {
  const raw = await busChunkSource(deps.bus, ctx.caller).manifest(cid, ctx.signal);
  return parseManifest(raw, deps.store.hasher, cid);
}

/** Refuses (capacity_exceeded) a blob that would not fit under capacityBytes, after a gc of unpinned chunks. */
async function makeRoom(deps: PutDeps, manifest: BlobManifest, missing: readonly ChunkRef[]): Promise<void> {
  const { store, capacityBytes } = deps;
  if (capacityBytes === undefined) return;
  const manifestBytes = (await store.chunks.has(manifest.cid)) ? 0 : manifestBody(manifest).length;
  const incoming = missing.reduce((n, c) => n + c.size_bytes, manifestBytes);
  const room = capacityBytes - incoming;
  const refuse = (why: string) => new HearthError('capacity_exceeded', `file.put: ${manifest.cid} needs ${incoming} more bytes here; this node keeps at most ${capacityBytes} bytes of blobs${why}`);
  if (room < 0) throw refuse('');
  if ((await store.chunks.bytesUsed()) > room) await store.chunks.gc(room);
  const used = await store.chunks.bytesUsed();
  if (used > room) throw refuse(` and ${used} of them are pinned`);
}

/**
 * Fetches `missing` from the caller with file.read, PUT_PULL_CONCURRENCY at a time, verifying and storing each;
 * yields each stored chunk's size. The first failure stops the rest and is thrown once they have settled, so
 * nothing is written after the put has ended.
 */
async function* pullChunks(deps: PutDeps, missing: readonly ChunkRef[], ctx: CallContext): AsyncGenerator<number, void, undefined> {
  const { store } = deps;
  const source = busChunkSource(deps.bus, ctx.caller, ctx.caller, { idleTimeoutMs: FILE_READ_IDLE_TIMEOUT_MS });
  const controller = new AbortController();
  const callerGone = () => controller.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', callerGone, { once: true });
  const queue = [...missing];
  const running = new Set<Promise<void>>();
  const done: number[] = [];
  let failure: unknown;

  const pull = async (ref: ChunkRef): Promise<number> => {
    const bytes = await source.chunk(ref.cid, controller.signal).catch((err: unknown) => {
      // Over a link the transport has already hashed the bytes: a mismatch arrives here as its bad_request.
      const error = HearthError.from(err);
      throw new HearthError(error.code, `file.put: chunk ${ref.i} from ${ctx.caller}: ${error.message}`, { retryAfterMs: error.retryAfterMs, extra: error.extra });
    });
    if (!(bytes instanceof Uint8Array) || store.hasher.cid(bytes) !== ref.cid) {
      throw new HearthError('bad_request', `file.put: chunk ${ref.i} sent by ${ctx.caller} does not hash to its CID ${ref.cid}`, { extra: { reason: 'hash_mismatch' } });
    }
    await store.chunks.put([{ cid: ref.cid, bytes }]);
    return bytes.length;
  };

  try {
    while ((queue.length > 0 || running.size > 0) && failure === undefined) {
      while (running.size < PUT_PULL_CONCURRENCY && queue.length > 0) {
        const job: Promise<void> = pull(queue.shift()!)
          .then(
            (size) => void done.push(size),
            (err: unknown) => {
              failure ??= err;
              controller.abort(err);
            }
          )
          .finally(() => running.delete(job));
        running.add(job);
      }
      await Promise.race(running);
      while (done.length > 0 && failure === undefined) yield done.shift()!;
    }
    if (failure !== undefined) throw ctx.signal.aborted ? ctx.signal.reason : failure;
  } finally {
    ctx.signal.removeEventListener('abort', callerGone);
    controller.abort(new HearthError('partition', 'file.put ended'));
    await Promise.allSettled(running);
  }
}

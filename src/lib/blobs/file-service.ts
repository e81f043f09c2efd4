/**
 * The file service (M07 §4, contract §4.7–4.10): file.read, file.list, file.advertise and file.put over a BlobStore.
 *
 * file.read always streams, a single chunk too (the contract's unary `data_b64` answer is not used): a frame on a
 * link holds at most 64 KiB, so chunk bytes never travel in a unary response. They go as a Uint8Array in a `chunk`
 * event's data, which the transport carries as binary frames and checks against `cid` on arrival. Our addition:
 * `manifest_only: true` ends the stream after the manifest, because a fetcher asks each chunk of whichever source it
 * picks; without it a holder would read and send chunks up to the stream window before the fetcher's cancel landed.
 * A manifest whose JSON would not fit one frame (MANIFEST_JSON_MAX_BYTES) is sent as `{cid, bytes}`, its canonical
 * JSON as bytes, which the transport carries like a chunk and hashes to the manifest CID.
 *
 * Also ours: `chunks: [i, ...]` with a manifest CID streams just those chunks of the blob, in the order asked, with no
 * manifest event (at most FILE_READ_MAX_CHUNKS_PER_CALL). A fetcher asks a run of chunks per call this way: one call
 * per chunk cost a signed call, response and trace each, and the bus's per-peer rate (100 calls/s) capped a download
 * at 25 MiB/s. A holder of only some chunks may serve a run it holds whole.
 *
 * file.put is carried as a server pull (file-put.ts): our transport has no stream from caller to server.
 */
import { CID_PREFIX, HearthError, isCid, type BlobManifest, type ChunkRef, type Clock } from '../core/index.js';
import type { CapabilityRegistration } from '../bus/index.js';
import type { StreamEvent } from '../transport/index.js';
import type { BlobStore } from './blob-store.js';
import { FILE_VERSION, type FileBus } from './file-client.js';
import { putEvents } from './file-put.js';
import { FILE_ADVERTISE_SCHEMAS, FILE_LIST_SCHEMAS, FILE_PUT_SCHEMAS, FILE_READ_SCHEMAS, type ChunkEventData, type FileReadDone } from './file-schemas.js';
import { FILE_ADVERTISE_MAX_CIDS, FILE_LIST_MAX_CIDS, FILE_READ_MAX_CHUNKS_PER_CALL, FILE_READ_RATE_PER_SECOND, MANIFEST_JSON_MAX_BYTES, MAX_MANIFEST_BYTES } from './limits.js';
import { manifestBody, parseManifest } from './manifest.js';

export interface FileServiceOptions {
  store: BlobStore;
  clock: Clock;
  /** This node: its own file.advertise calls are not handed to onAdvertise. */
  selfId: string;
  /** A peer said (file.advertise) it holds these CIDs: validated, deduplicated, at most FILE_ADVERTISE_MAX_CIDS. */
  onAdvertise?(from: string, cids: readonly string[], described: Readonly<Record<string, FileDescription>>): void;
  /** Bytes of chunks this node keeps; a file.put that would not fit (after a gc of unpinned chunks) is refused. */
  capacityBytes?: number;
  /** For file.put, which pulls the chunks from the caller; without it file.put is not offered. */
  bus?: FileBus;
}

function inputOf(body: unknown): Record<string, unknown> {
  const input = (body as { input?: unknown } | null)?.input;
  return input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
}

function bad(capability: string, problem: string, reason?: string): never {
  throw new HearthError('bad_request', `${capability}: ${problem}`, reason ? { extra: { reason } } : {});
}

const shown = (value: unknown) => (JSON.stringify(value) ?? String(value)).slice(0, 80);

function checkCid(value: unknown, capability: string, field: string): string {
  if (!isCid(value)) bad(capability, `${field} must be a CID, "blake3:" and 64 lowercase hex digits; got ${shown(value)}`);
  return value;
}

const CID_PREFIX_PATTERN = /^blake3:[0-9a-f]{0,64}$/;
const isCidPrefix = (value: unknown): value is string => typeof value === 'string' && (CID_PREFIX.startsWith(value) || CID_PREFIX_PATTERN.test(value));

/** What a holder may say about a file it advertises, so peers outside a community can list it by name. */
export interface FileDescription {
  name: string;
  media_type: string;
  size_bytes: number | null;
}

const MAX_FILE_NAME_CHARS = 255;
const MAX_MEDIA_TYPE_CHARS = 100;

/**
 * `input.files` (our addition to contract §4.9, optional): `[{cid, name?, media_type?, size_bytes?}]` for CIDs in
 * `input.cids`. Untrusted: anything malformed is left out rather than refused, since the CIDs alone are the call.
 */
function descriptionsOf(files: unknown, cids: readonly string[]): Record<string, FileDescription> {
  const described: Record<string, FileDescription> = {};
  if (!Array.isArray(files)) return described;
  for (const file of files.slice(0, cids.length)) {
    if (typeof file !== 'object' || file === null) continue;
    const { cid, name, media_type: mediaType, size_bytes: size } = file as Record<string, unknown>;
    if (typeof cid !== 'string' || !cids.includes(cid) || cid in described) continue;
    described[cid] = {
      name: typeof name === 'string' && name.length <= MAX_FILE_NAME_CHARS ? name : '',
      media_type: typeof mediaType === 'string' && mediaType.length <= MAX_MEDIA_TYPE_CHARS ? mediaType : '',
      size_bytes: typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : null
    };
  }
  return described;
}

export function fileCapabilities(options: FileServiceOptions): CapabilityRegistration[] {
  const { store, clock } = options;
  const common = { version: FILE_VERSION, owner: 'file', stability: 'stable', idempotent: true } as const;

  const read: CapabilityRegistration = {
    ...common,
    ...FILE_READ_SCHEMAS,
    name: 'file.read',
    trustRequired: 'member',
    maxConcurrent: 8,
    timeoutSeconds: 300,
    ratePerSecond: FILE_READ_RATE_PER_SECOND,
    handler(body, ctx) {
      const input = inputOf(body);
      const cid = checkCid(input.cid, 'file.read', 'input.cid');
      if (input.chunks !== undefined) {
        if (input.manifest_only === true) bad('file.read', 'input.chunks and input.manifest_only exclude each other');
        return runEvents(store, clock, cid, checkChunkIndices(input.chunks), ctx.signal);
      }
      return readEvents(store, clock, cid, input.manifest_only === true, ctx.signal);
    }
  };

  const list: CapabilityRegistration = {
    ...common,
    ...FILE_LIST_SCHEMAS,
    name: 'file.list',
    trustRequired: 'member',
    maxConcurrent: 4,
    timeoutSeconds: 5,
    async handler(body) {
      const started = clock.now();
      const { prefix } = inputOf(body);
      if (prefix !== undefined && !isCidPrefix(prefix)) bad('file.list', `input.prefix must be the start of a CID, such as "blake3:ab"; got ${shown(prefix)}`);
      const { cids, truncated } = await store.heldBlobs({ prefix, limit: FILE_LIST_MAX_CIDS });
      return { output: { cids, truncated }, meta: { ms: clock.now() - started } };
    }
  };

  const advertise: CapabilityRegistration = {
    ...common,
    ...FILE_ADVERTISE_SCHEMAS,
    name: 'file.advertise',
    trustRequired: 'member',
    maxConcurrent: 16,
    timeoutSeconds: 5,
    handler(body, ctx) {
      const started = clock.now();
      const { cids } = inputOf(body);
      if (!Array.isArray(cids) || cids.length === 0 || cids.length > FILE_ADVERTISE_MAX_CIDS) {
        bad('file.advertise', `input.cids must hold 1 to ${FILE_ADVERTISE_MAX_CIDS} CIDs`);
      }
      cids.forEach((cid, k) => checkCid(cid, 'file.advertise', `input.cids[${k}]`));
      const unique = [...new Set(cids as string[])];
      const described = descriptionsOf(inputOf(body).files, unique);
      // What this node holds it knows from its store; only peers are sources worth recording.
      const recording = options.onAdvertise !== undefined && ctx.caller !== options.selfId;
      if (recording) options.onAdvertise!(ctx.caller, unique, described);
      return { output: { recorded: recording ? unique.length : 0 }, meta: { ms: clock.now() - started } };
    }
  };

  const registrations = [read, list, advertise];
  const { bus } = options;
  if (bus) {
    registrations.push({
      ...common,
      ...FILE_PUT_SCHEMAS,
      name: 'file.put',
      trustRequired: 'trusted', // M07 §4.1: whatever is put takes disk space and is kept
      maxConcurrent: 2,
      timeoutSeconds: 600,
      handler(body, ctx) {
        const input = inputOf(body);
        if (input.manifest === undefined) return putEvents({ ...options, bus }, checkCid(input.cid, 'file.put', 'input.cid'), ctx);
        const candidate = input.manifest as { cid?: unknown };
        checkCid(candidate.cid, 'file.put', 'input.manifest.cid');
        return putEvents({ ...options, bus }, parseManifest(candidate, store.hasher, candidate.cid as string), ctx);
      }
    });
  }
  return registrations;
}

// --- file.read ---

type Held = { kind: 'manifest'; manifest: BlobManifest } | { kind: 'chunk'; bytes: Uint8Array };

/** What `cid` is here. Verified on read: a corrupt chunk is deleted and reported not_found (reason chunk_corrupt). */
async function lookUp(store: BlobStore, cid: string): Promise<Held> {
  const bytes = await store.chunk(cid);
  if (!bytes) throw new HearthError('not_found', `this node does not hold ${cid}`);
  // A manifest is canonical JSON, so it starts with "{"; the check spares parsing most data chunks.
  if (bytes.length <= MAX_MANIFEST_BYTES && bytes[0] === 0x7b) {
    try {
      return { kind: 'manifest', manifest: parseManifest(bytes, store.hasher, cid) };
    } catch {
      // a data chunk that happens to start with "{"
    }
  }
  return { kind: 'chunk', bytes };
}

const chunkEvent = (i: number, cid: string, bytes: Uint8Array): StreamEvent => ({ event: 'chunk', data: { i, cid, size_bytes: bytes.length, bytes } satisfies ChunkEventData });

/** `input.chunks`: 1 to FILE_READ_MAX_CHUNKS_PER_CALL distinct chunk indices (checked against the manifest later). */
function checkChunkIndices(value: unknown): number[] {
  const problem = `input.chunks must hold 1 to ${FILE_READ_MAX_CHUNKS_PER_CALL} distinct chunk indices (integers from 0)`;
  if (!Array.isArray(value) || value.length === 0 || value.length > FILE_READ_MAX_CHUNKS_PER_CALL) bad('file.read', problem);
  if (!value.every((i) => Number.isSafeInteger(i) && i >= 0) || new Set(value).size !== value.length) bad('file.read', problem);
  return value as number[];
}

/**
 * The chunk events for `refs`, each chunk verified as it is read. Chunks are read a group at a time, the next group
 * while this one is signed and sent (BlobStore.chunksInOrder), so store and link work at once and a read costs one
 * IndexedDB transaction per group rather than per chunk; nothing more is read once the caller has gone.
 */
async function* chunkEvents(store: BlobStore, blobCid: string, refs: readonly ChunkRef[], signal: AbortSignal): AsyncGenerator<StreamEvent, number, undefined> {
  let k = 0;
  signal.throwIfAborted();
  for await (const bytes of store.chunksInOrder(refs.map((ref) => ref.cid))) {
    signal.throwIfAborted(); // the caller went away: send nothing more (leaving the loop stops the reads)
    const ref = refs[k++];
    if (!bytes) throw new HearthError('not_found', `chunk ${ref.i} of ${blobCid} (${ref.cid}) is no longer stored here`);
    yield chunkEvent(ref.i, ref.cid, bytes);
  }
  return refs.length;
}

/** `chunks: [i, ...]` of a blob: those chunks in the order asked, refused before the first event unless all are here. */
async function* runEvents(store: BlobStore, clock: Clock, cid: string, indices: readonly number[], signal: AbortSignal): AsyncGenerator<StreamEvent, FileReadDone, undefined> {
  const started = clock.now();
  const held = await lookUp(store, cid);
  if (held.kind === 'chunk') bad('file.read', `${cid} is a piece of a file, not a file: input.chunks needs the file's own CID`, 'not_a_manifest');
  const { chunks } = held.manifest;
  const beyond = indices.find((i) => i >= chunks.length);
  if (beyond !== undefined) bad('file.read', `input.chunks names chunk ${beyond}; ${cid} has ${chunks.length}`);
  const refs = indices.map((i) => chunks[i]);
  const missing = await store.chunks.missing(refs.map((ref) => ref.cid));
  if (missing.length > 0) {
    throw new HearthError('not_found', `this node holds ${refs.length - missing.length} of the ${refs.length} chunks of ${cid} asked for`, { extra: { reason: 'incomplete' } });
  }
  const sent = yield* chunkEvents(store, cid, refs, signal);
  return { chunks: sent, ms: clock.now() - started };
}

async function* readEvents(store: BlobStore, clock: Clock, cid: string, manifestOnly: boolean, signal: AbortSignal): AsyncGenerator<StreamEvent, FileReadDone, undefined> {
  const started = clock.now();
  const held = await lookUp(store, cid);
  if (held.kind === 'chunk') {
    if (manifestOnly) bad('file.read', `${cid} is a piece of a file, not a file: ask for the file's own CID`, 'not_a_manifest');
    yield chunkEvent(0, cid, held.bytes);
    return { chunks: 1, ms: clock.now() - started };
  }
  const { manifest } = held;
  // Refused before the first event, so the caller's bus may still ask another holder.
  const missing = await store.missingChunks(manifest);
  if (missing.length > 0) {
    const unique = new Set(manifest.chunks.map((c) => c.cid)).size;
    throw new HearthError('not_found', `this node holds ${unique - missing.length} of the ${unique} chunks of ${cid}`, { extra: { reason: 'incomplete' } });
  }
  const body = manifestBody(manifest);
  yield { event: 'manifest', data: body.length <= MANIFEST_JSON_MAX_BYTES ? manifest : { cid, bytes: body } };
  if (manifestOnly) return { chunks: 0, ms: clock.now() - started };
  const sent = yield* chunkEvents(store, cid, manifest.chunks, signal);
  return { chunks: sent, ms: clock.now() - started };
}

/**
 * Blobs over a ChunkStore: a blob is its chunks plus its manifest, the manifest kept as a chunk of its own (its
 * canonical JSON, under the manifest CID). Every chunk is hashed before it is stored and again when it is read,
 * so bit rot on disk and lying peers are both caught (M07 §5.2).
 */
import { HearthError, isCid, type BlobManifest, type ChunkRef } from '../core/index.js';
import { chunksOf, type BlobInput } from './chunker.js';
import type { ChunkPut, ChunkStore } from './chunk-store.js';
import { loadHasher, type Blake3Hasher } from './hash.js';
import { ADD_BATCH_CHUNKS, MAX_BLOB_BYTES, READ_GROUP_CHUNKS } from './limits.js';
import { buildManifest, manifestBody, parseManifest } from './manifest.js';

let addsStarted = 0;

export class BlobStore {
  private constructor(
    readonly chunks: ChunkStore,
    readonly hasher: Blake3Hasher
  ) {}

  /**
   * Opens the store over `chunks`, dropping temporary pins a crash left (an add or a file.put that never finished:
   * their ids are not CIDs). Persistent stores keep pins, so without this their chunks could never be collected.
   * One BlobStore per chunk store: another open one's running adds would lose their protection.
   */
  static async open(chunks: ChunkStore, options: { hasher?: Blake3Hasher } = {}): Promise<BlobStore> {
    for (const id of await chunks.pins()) if (!isCid(id)) await chunks.unpin(id);
    return new BlobStore(chunks, options.hasher ?? (await loadHasher()));
  }

  /** Chunks, stores and (unless `pin: false`) pins a blob; returns its manifest. */
  async add(input: BlobInput, options: { pin?: boolean } = {}): Promise<BlobManifest> {
    const refs: ChunkRef[] = [];
    let batch: ChunkPut[] = [];
    let size = 0;
    // Chunks are pinned as they are stored, under a temporary id, so a gc meanwhile cannot leave the blob with holes.
    const adding = `adding:${++addsStarted}:${Date.now()}`;
    const store = async () => {
      await this.chunks.put(batch);
      await this.chunks.pin(adding, refs.map((r) => r.cid));
      batch = [];
    };
    try {
      for await (const bytes of chunksOf(input)) {
        size += bytes.length;
        if (size > MAX_BLOB_BYTES) throw new HearthError('capacity_exceeded', `blob is larger than ${MAX_BLOB_BYTES} bytes`);
        const cid = this.hasher.cid(bytes);
        refs.push({ i: refs.length, cid, size_bytes: bytes.length });
        batch.push({ cid, bytes });
        if (batch.length >= ADD_BATCH_CHUNKS) await store();
      }
      if (batch.length > 0) await store();
      const manifest = buildManifest(refs, this.hasher);
      await this.storeManifest(manifest, options);
      return manifest;
    } finally {
      await this.chunks.unpin(adding);
    }
  }

  /** Stores a manifest already checked with parseManifest; pins it (with its chunks) unless `pin: false`. */
  async storeManifest(manifest: BlobManifest, options: { pin?: boolean } = {}): Promise<void> {
    await this.chunks.put([{ cid: manifest.cid, bytes: manifestBody(manifest) }]);
    if (options.pin ?? true) await this.pin(manifest);
  }

  async pin(manifest: BlobManifest): Promise<void> {
    await this.chunks.pin(manifest.cid, [manifest.cid, ...manifest.chunks.map((c) => c.cid)]);
  }

  async unpin(manifestCid: string): Promise<void> {
    await this.chunks.unpin(manifestCid);
  }

  /** The stored manifest under `cid`, re-verified; undefined when absent. */
  async manifest(cid: string): Promise<BlobManifest | undefined> {
    const bytes = await this.chunks.get(cid);
    if (!bytes) return undefined;
    if (this.hasher.cid(bytes) !== cid) {
      await this.chunks.delete([cid]);
      throw corrupt(cid, 'manifest');
    }
    try {
      return parseManifest(bytes, this.hasher, cid);
    } catch {
      // Intact bytes that are not a manifest: a data chunk asked for as a blob. Keep it; say what it is.
      throw new HearthError('bad_request', `${cid} is a piece of a file, not a file: ask for the file's own CID`, { extra: { reason: 'not_a_manifest' } });
    }
  }

  /** The manifest's chunks that are not stored, once each (a chunk repeated in a blob is fetched once). */
  async missingChunks(manifest: BlobManifest): Promise<ChunkRef[]> {
    const unique = [...new Map(manifest.chunks.map((c) => [c.cid, c])).values()];
    const absent = new Set(await this.chunks.missing(unique.map((c) => c.cid)));
    return unique.filter((c) => absent.has(c.cid));
  }

  /** True when the manifest and all its chunks are stored. */
  async has(manifestCid: string): Promise<boolean> {
    const manifest = await this.manifest(manifestCid);
    return manifest !== undefined && (await this.missingChunks(manifest)).length === 0;
  }

  /**
   * The pinned blobs held whole, CIDs starting with `prefix`, sorted; at most `limit` (then `truncated`). Only pinned
   * ones: an unpinned blob is cache a gc may take at any moment, so naming it would send fetchers to chunks that are
   * gone. A pinned blob with a chunk missing or corrupt is left out.
   */
  async heldBlobs(options: { prefix?: string; limit?: number } = {}): Promise<{ cids: string[]; truncated: boolean }> {
    const { prefix = '', limit = Infinity } = options;
    const cids: string[] = [];
    for (const id of await this.chunks.pins()) {
      if (!isCid(id) || !id.startsWith(prefix)) continue; // other pin ids (blobs still being added) are not CIDs
      if (!(await this.has(id).catch(() => false))) continue;
      if (cids.length === limit) return { cids, truncated: true };
      cids.push(id);
    }
    return { cids, truncated: false };
  }

  /** Hashes each chunk and stores those that match their CID; throws bad_request (M07 §6) at the first that does not. */
  async putChunks(chunks: readonly ChunkPut[]): Promise<string[]> {
    for (const { cid, bytes } of chunks) {
      const actual = this.hasher.cid(bytes);
      if (actual !== cid) throw new HearthError('bad_request', `chunk bytes hash to ${actual}, not ${cid}`, { extra: { reason: 'hash_mismatch' } });
    }
    return this.chunks.put(chunks);
  }

  /** A verified chunk, or undefined when absent. A stored chunk that fails its hash is deleted and reported. */
  async chunk(cid: string): Promise<Uint8Array | undefined> {
    return this.verified(cid, await this.chunks.get(cid));
  }

  /**
   * chunk() of each of `cids` in order, read READ_GROUP_CHUNKS at a time (one ChunkStore.getMany where the store has
   * it) with the next group read while this one is consumed; each is verified as it is taken, so a corrupt chunk
   * throws after the ones before it were yielded. Holds at most two groups.
   */
  async *chunksInOrder(cids: readonly string[]): AsyncGenerator<Uint8Array | undefined, void, undefined> {
    const readGroup = (at: number) => {
      const group = cids.slice(at, at + READ_GROUP_CHUNKS);
      const read = this.chunks.getMany ? this.chunks.getMany(group) : Promise.all(group.map((cid) => this.chunks.get(cid)));
      read.catch(() => {}); // a group read ahead that nobody takes (the consumer stopped) is not an unhandled rejection
      return read;
    };
    let next = cids.length > 0 ? readGroup(0) : null;
    for (let at = 0; at < cids.length; at += READ_GROUP_CHUNKS) {
      const group = await next!;
      next = at + READ_GROUP_CHUNKS < cids.length ? readGroup(at + READ_GROUP_CHUNKS) : null;
      for (let k = 0; k < group.length; k++) yield this.verified(cids[at + k], group[k]);
    }
  }

  private async verified(cid: string, bytes: Uint8Array | undefined): Promise<Uint8Array | undefined> {
    if (!bytes) return undefined;
    if (this.hasher.cid(bytes) !== cid) {
      await this.chunks.delete([cid]);
      throw corrupt(cid, 'chunk');
    }
    return bytes;
  }

  /**
   * The blob's bytes, chunk by chunk, each verified as it is read. Throws not_found when the manifest or a chunk is
   * absent, and not_found with reason `chunk_corrupt` when stored bytes fail their hash (the bad chunk is deleted,
   * so `missingChunks` lists it and a fetch repairs the blob).
   */
  async *read(manifestCid: string): AsyncGenerator<Uint8Array> {
    const manifest = await this.manifest(manifestCid);
    if (!manifest) throw new HearthError('not_found', `blob ${manifestCid} is not stored`);
    let i = 0;
    for await (const bytes of this.chunksInOrder(manifest.chunks.map((ref) => ref.cid))) {
      const ref = manifest.chunks[i++];
      if (!bytes) throw new HearthError('not_found', `blob ${manifestCid}: chunk ${ref.i} (${ref.cid}) is not stored`);
      yield bytes;
    }
  }

  /** The whole blob in memory: for small blobs. */
  async readAll(manifestCid: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const part of this.read(manifestCid)) parts.push(part);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/**
 * Stored bytes that fail their hash. The code is not_found because the chunk is gone once this is thrown: to a
 * remote caller that means "ask someone else", and locally missingChunks() now lists it for a re-fetch.
 */
function corrupt(cid: string, what: 'chunk' | 'manifest', cause?: unknown): HearthError {
  const detail = cause instanceof Error ? ` (${cause.message})` : '';
  return new HearthError('not_found', `stored ${what} ${cid} is corrupt: its bytes fail verification${detail}; deleted it, fetch it again`, { extra: { reason: 'chunk_corrupt' } });
}

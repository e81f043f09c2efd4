/** fetchBlob: verified multi-source fetching, lying peers, resume, untrusted manifests, limits on concurrency. */
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE_BYTES, HearthError, type BlobManifest, type ChunkRef } from '../../../src/lib/core/index.js';
import { BlobStore, FETCH_FIRST_RUN_CHUNKS, MAX_MANIFEST_BYTES, MemoryChunkStore, fetchBlob, type ChunkSource, type FetchProgress } from '../../../src/lib/blobs/index.js';
import { vectorData } from '../core/vectors.js';

const CHUNKS = 8;
const data = vectorData(CHUNK_SIZE_BYTES * (CHUNKS - 1) + 1234, 11);

interface TestSource extends ChunkSource {
  chunkCalls: string[];
  manifestCalls: number;
  maxInFlight: number;
}

interface Behaviour {
  /** Bytes that do not match the CID, for every chunk or those listed. */
  lie?: boolean | ((cid: string) => boolean);
  /** What manifest() returns instead of the real one. */
  manifest?: unknown;
  has?: boolean;
  delayMs?: number;
}

/** A peer serving `blobs` (a real BlobStore), optionally lying. */
function source(id: string, blobs: BlobStore, behaviour: Behaviour = {}): TestSource {
  let inFlight = 0;
  const s: TestSource = {
    id,
    chunkCalls: [],
    manifestCalls: 0,
    maxInFlight: 0,
    async manifest(cid) {
      s.manifestCalls++;
      if (behaviour.has === false) throw new HearthError('not_found', `${id} lacks ${cid}`);
      if ('manifest' in behaviour) return behaviour.manifest;
      return blobs.manifest(cid);
    },
    async chunk(cid) {
      s.chunkCalls.push(cid);
      s.maxInFlight = Math.max(s.maxInFlight, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, behaviour.delayMs ?? 1));
        if (behaviour.has === false) throw new HearthError('not_found', `${id} lacks ${cid}`);
        const bytes = (await blobs.chunk(cid))!;
        const lie = typeof behaviour.lie === 'function' ? behaviour.lie(cid) : behaviour.lie;
        if (lie) bytes[0] ^= 0xff;
        return bytes;
      } finally {
        inFlight--;
      }
    }
  };
  return s;
}

async function origin(): Promise<{ blobs: BlobStore; manifest: BlobManifest }> {
  const blobs = await BlobStore.open(new MemoryChunkStore());
  return { blobs, manifest: await blobs.add(data) };
}

const fresh = () => BlobStore.open(new MemoryChunkStore());
const same = (a: Uint8Array, b: Uint8Array) => expect(a.length === b.length && Buffer.compare(a, b) === 0).toBe(true);

describe('fetchBlob', () => {
  it('fetches from several sources at once within the concurrency bounds, verifies, stores and pins', async () => {
    const { blobs, manifest } = await origin();
    const sources = ['a', 'b', 'c'].map((id) => source(id, blobs, { delayMs: 5 }));
    const local = await fresh();
    const progress: FetchProgress[] = [];
    const result = await fetchBlob(manifest.cid, { store: local, sources, perSourceConcurrency: 2, concurrency: 5, onProgress: (p) => progress.push(structuredClone(p)) });
    expect(result.manifest).toEqual(manifest);
    expect(result.chunksFetched).toBe(CHUNKS);
    expect(result.bytesFetched).toBe(data.length);
    same(await local.readAll(manifest.cid), data);
    expect(await local.chunks.pins()).toEqual([manifest.cid]);
    for (const s of sources) expect(s.chunkCalls.length).toBeGreaterThan(0);
    for (const s of sources) expect(s.maxInFlight).toBeLessThanOrEqual(2);
    expect(sources.reduce((n, s) => n + s.chunkCalls.length, 0)).toBe(CHUNKS);
    expect(progress[0]).toMatchObject({ bytesDone: 0, bytesTotal: data.length, chunksDone: 0, chunksTotal: CHUNKS });
    expect(progress.at(-1)).toMatchObject({ bytesDone: data.length, chunksDone: CHUNKS });
    expect(Object.values(progress.at(-1)!.bySource).reduce((n, s) => n + s.bytes, 0)).toBe(data.length);
  });

  it('never exceeds the overall bound', async () => {
    const { blobs, manifest } = await origin();
    let inFlight = 0;
    let max = 0;
    const sources = ['a', 'b', 'c', 'd'].map((id) => {
      const s = source(id, blobs, { delayMs: 3 });
      const chunk = s.chunk.bind(s);
      s.chunk = async (cid) => {
        max = Math.max(max, ++inFlight);
        try {
          return await chunk(cid);
        } finally {
          inFlight--;
        }
      };
      return s;
    });
    await fetchBlob(manifest.cid, { store: await fresh(), sources, perSourceConcurrency: 4, concurrency: 3 });
    expect(max).toBe(3);
  });

  it('drops bytes from a lying source, strikes it, and fetches the chunk from an honest one', async () => {
    const { blobs, manifest } = await origin();
    const liar = source('liar', blobs, { lie: true });
    const honest = source('honest', blobs, { delayMs: 3 });
    const local = await fresh();
    const putCids: string[] = [];
    const put = local.chunks.put.bind(local.chunks);
    local.chunks.put = async (chunks) => {
      for (const c of chunks) expect(local.hasher.cid(c.bytes)).toBe(c.cid); // nothing unverified is stored
      putCids.push(...chunks.map((c) => c.cid));
      return put(chunks);
    };
    const result = await fetchBlob(manifest.cid, { store: local, sources: [liar, honest], maxStrikes: 3, perSourceConcurrency: 1 });
    same(await local.readAll(manifest.cid), data);
    expect(result.bySource.liar).toMatchObject({ strikes: 3, chunks: 0, bytes: 0 });
    expect(liar.chunkCalls.length).toBe(3); // dropped after its third strike
    expect(result.bySource.honest.chunks).toBe(CHUNKS);
  });

  it('strikes a source whose answer was refused as bad_request (the transport hashes chunk bytes on arrival), as for bad bytes', async () => {
    const { blobs, manifest } = await origin();
    const refused = source('refused', blobs);
    refused.chunk = async (cid) => {
      refused.chunkCalls.push(cid);
      throw new HearthError('bad_request', `chunk ${cid} from refused: bytes do not match`);
    };
    const honest = source('honest', blobs, { delayMs: 3 });
    const local = await fresh();
    const result = await fetchBlob(manifest.cid, { store: local, sources: [refused, honest], maxStrikes: 2, perSourceConcurrency: 1 });
    same(await local.readAll(manifest.cid), data);
    expect(result.bySource.refused).toMatchObject({ strikes: 2, failures: 0, chunks: 0 });
    expect(refused.chunkCalls.length).toBe(2);
  });

  it('fails with partition when no source gives a verified copy', async () => {
    const { blobs, manifest } = await origin();
    const onlyChunk3 = (cid: string) => cid === manifest.chunks[3].cid;
    const sources = ['a', 'b'].map((id) => source(id, blobs, { lie: onlyChunk3 }));
    const local = await fresh();
    await expect(fetchBlob(manifest.cid, { store: local, sources })).rejects.toMatchObject({ code: 'partition' });
    expect(await local.chunks.has(manifest.chunks[3].cid)).toBe(false);
  });

  it('gives up on a chunk after maxAttemptsPerChunk (M07 §5.6)', async () => {
    const { blobs, manifest } = await origin();
    const sources = ['a', 'b', 'c', 'd', 'e'].map((id) => source(id, blobs, { lie: (cid) => cid === manifest.chunks[0].cid }));
    await expect(fetchBlob(manifest.cid, { store: await fresh(), sources, maxAttemptsPerChunk: 3 })).rejects.toMatchObject({ code: 'partition' });
    expect(sources.reduce((n, s) => n + s.chunkCalls.filter((c) => c === manifest.chunks[0].cid).length, 0)).toBe(3);
  });

  it('fails with not_found when no source has the blob or a chunk', async () => {
    const { blobs, manifest } = await origin();
    await expect(fetchBlob(manifest.cid, { store: await fresh(), sources: [source('a', blobs, { has: false })] })).rejects.toMatchObject({ code: 'not_found' });
    const manifestOnly = source('m', blobs);
    manifestOnly.chunk = async (cid) => {
      throw new HearthError('not_found', cid);
    };
    await expect(fetchBlob(manifest.cid, { store: await fresh(), sources: [manifestOnly] })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('resumes after an abort: only the chunks still missing are fetched', async () => {
    const { blobs, manifest } = await origin();
    const first = source('a', blobs);
    const local = await fresh();
    const abort = new AbortController();
    const onProgress = (p: FetchProgress) => p.chunksDone === 3 && abort.abort();
    await expect(fetchBlob(manifest.cid, { store: local, sources: [first], perSourceConcurrency: 1, signal: abort.signal, onProgress })).rejects.toMatchObject({ name: 'AbortError' });
    const have = CHUNKS - (await local.missingChunks(manifest)).length;
    expect(have).toBe(3);
    expect(await local.chunks.pins()).toEqual([manifest.cid]); // a gc meanwhile keeps the partial blob

    const second = source('b', blobs);
    const progress: FetchProgress[] = [];
    const result = await fetchBlob(manifest.cid, { store: local, sources: [second], onProgress: (p) => progress.push({ ...p }) });
    expect(second.manifestCalls).toBe(0); // the manifest was already stored
    expect(second.chunkCalls.length).toBe(CHUNKS - 3);
    expect(new Set(second.chunkCalls)).toEqual(new Set(manifest.chunks.slice(3).map((c) => c.cid)));
    expect(result.chunksFetched).toBe(CHUNKS - 3);
    expect(progress[0].bytesDone).toBe(3 * CHUNK_SIZE_BYTES);
    same(await local.readAll(manifest.cid), data);
  });

  it('fetches nothing when the blob is already complete', async () => {
    const { blobs, manifest } = await origin();
    const s = source('a', blobs);
    const result = await fetchBlob(manifest.cid, { store: blobs, sources: [s] });
    expect(result.chunksFetched).toBe(0);
    expect(s.chunkCalls).toEqual([]);
  });

  it('rejects a manifest from an untrusted source with the wrong shape, size or CID, and uses an honest one', async () => {
    const { blobs, manifest } = await origin();
    const other = await blobs.add(vectorData(99, 1));
    const { cid: _cid, ...body } = manifest;
    const bad: unknown[] = [
      { ...manifest, mime_type: 'x' },
      { ...body, size_bytes: body.size_bytes + 1 },
      { ...body, chunks: body.chunks.slice(1) },
      other,
      'x'.repeat(MAX_MANIFEST_BYTES + 1),
      42
    ];
    for (const wrong of bad) {
      const liar = source('liar', blobs, { manifest: wrong });
      const honest = source('honest', blobs);
      const local = await fresh();
      const result = await fetchBlob(manifest.cid, { store: local, sources: [liar, honest] });
      expect(result.bySource.liar.strikes).toBe(1);
      // Still asked for chunks (each is verified anyway); one bad manifest is below maxStrikes.
      expect(result.bySource.liar.chunks).toBe(liar.chunkCalls.length);
      same(await local.readAll(manifest.cid), data);
    }
    const onlyLiars = [source('x', blobs, { manifest: other }), source('y', blobs, { manifest: { nope: true } })];
    const local = await fresh();
    await expect(fetchBlob(manifest.cid, { store: local, sources: onlyLiars })).rejects.toMatchObject({ code: 'partition' });
    expect(await local.chunks.list()).toEqual([]);
  });
});

/** `s` with chunks(): the runs it was asked, answered from `blobs`, optionally failing at one chunk. */
function withRuns(s: TestSource, blobs: BlobStore, at: { fail?: (cid: string) => HearthError | 'lie' | undefined } = {}): TestSource & { runs: number[][] } {
  const runs: number[][] = [];
  return Object.assign(s, {
    runs,
    async *chunks(_blob: string, refs: readonly ChunkRef[]): AsyncGenerator<Uint8Array> {
      runs.push(refs.map((r) => r.i));
      for (const ref of refs) {
        await new Promise((r) => setTimeout(r, 1));
        const failure = at.fail?.(ref.cid);
        const bytes = (await blobs.chunk(ref.cid))!;
        if (failure === 'lie') bytes[0] ^= 0xff;
        else if (failure) throw failure;
        yield bytes;
      }
    }
  });
}

describe('fetchBlob with runs', () => {
  it('asks a source that takes runs for several chunks per request: short at first, then longer, at most runChunks', async () => {
    const { blobs, manifest } = await origin();
    const s = withRuns(source('a', blobs), blobs);
    const local = await fresh();
    const result = await fetchBlob(manifest.cid, { store: local, sources: [s], perSourceConcurrency: 2, runChunks: 3 });
    same(await local.readAll(manifest.cid), data);
    expect(result.bySource.a.chunks).toBe(CHUNKS);
    // Every chunk asked once, in runs (a last single chunk by its CID).
    expect([...s.runs.flat(), ...s.chunkCalls.map((cid) => manifest.chunks.findIndex((c) => c.cid === cid))].sort()).toEqual([...Array(CHUNKS).keys()]);
    expect(s.runs.slice(0, 2).map((r) => r.length)).toEqual([FETCH_FIRST_RUN_CHUNKS, FETCH_FIRST_RUN_CHUNKS]); // both slots
    expect(Math.max(...s.runs.map((r) => r.length))).toBe(3);
  });

  it('strikes a source at the chunk it lied about; the rest of its run goes back untouched and is fetched', async () => {
    const { blobs, manifest } = await origin();
    const bad = manifest.chunks[4].cid;
    const liar = withRuns(source('liar', blobs), blobs, { fail: (cid) => (cid === bad ? 'lie' : undefined) });
    const honest = source('honest', blobs, { delayMs: 20 });
    const local = await fresh();
    const result = await fetchBlob(manifest.cid, { store: local, sources: [liar, honest], perSourceConcurrency: 1, runChunks: CHUNKS });
    same(await local.readAll(manifest.cid), data);
    expect(result.bySource.liar.strikes).toBe(1);
    expect(honest.chunkCalls).toContain(bad); // the chunk it lied about went to the other source
    // [0, 1], then [3, 4, 5, 6] ended at 4: 5 and 6 went back and were asked of the liar again.
    expect(liar.runs.flat().filter((i) => i === 5 || i === 6)).toEqual([5, 6, 5, 6]);
    expect(result.bySource.liar.chunks + result.bySource.honest.chunks).toBe(CHUNKS);
  });

  it('charges a failure to the chunk the run stopped at only: the rest are fetched, then the fetch fails, keeping them', async () => {
    const { blobs, manifest } = await origin();
    const broken = manifest.chunks[5].cid;
    const s = withRuns(source('a', blobs), blobs, { fail: (cid) => (cid === broken ? new HearthError('partition', 'link gone') : undefined) });
    const local = await fresh();
    await expect(fetchBlob(manifest.cid, { store: local, sources: [s], perSourceConcurrency: 1, runChunks: CHUNKS })).rejects.toMatchObject({ code: 'partition' });
    // [0, 1], then [2, 3, 4, 5] failed at 5; 6 and 7, never reached, were still asked of the same source.
    expect(s.runs).toEqual([[0, 1], [2, 3, 4, 5], [6, 7]]);
    expect((await local.missingChunks(manifest)).map((c) => c.i)).toEqual([5]);
    const again = await fetchBlob(manifest.cid, { store: local, sources: [withRuns(source('b', blobs), blobs)] });
    expect(again.chunksFetched).toBe(1);
    same(await local.readAll(manifest.cid), data);
  });

  it('writes verified chunks in batches of writeBatchChunks, all of them before it returns', async () => {
    const { blobs, manifest } = await origin();
    const local = await fresh();
    const puts: number[] = [];
    const put = local.chunks.put.bind(local.chunks);
    local.chunks.put = async (chunks) => {
      if (!chunks.some((c) => c.cid === manifest.cid)) puts.push(chunks.length);
      return put(chunks);
    };
    await fetchBlob(manifest.cid, { store: local, sources: [withRuns(source('a', blobs), blobs)], writeBatchChunks: 3 });
    expect(puts).toEqual([3, 3, 2]);
    expect(await local.missingChunks(manifest)).toEqual([]);
  });

  it('hashes every chunk itself unless the source says it verified them (verifiesChunks); a non-Uint8Array is struck either way', async () => {
    const { blobs, manifest } = await origin();
    const chunkCids = new Set(manifest.chunks.map((c) => c.cid));
    const hashedChunks = async (verifiesChunks: boolean) => {
      const local = await fresh();
      let hashed = 0;
      const hasher = local.hasher;
      const counting = (bytes: Uint8Array) => {
        const cid = hasher.cid(bytes);
        if (chunkCids.has(cid)) hashed++;
        return cid;
      };
      Object.defineProperty(local, 'hasher', { value: { ...hasher, cid: counting } });
      await fetchBlob(manifest.cid, { store: local, sources: [Object.assign(source('a', blobs), { verifiesChunks })] });
      const duringFetch = hashed;
      same(await local.readAll(manifest.cid), data);
      return duringFetch;
    };
    expect(await hashedChunks(false)).toBe(CHUNKS);
    expect(await hashedChunks(true)).toBe(0);
    const odd = Object.assign(source('odd', blobs), { verifiesChunks: true });
    odd.chunk = async () => 'not bytes' as unknown as Uint8Array;
    const result = await fetchBlob(manifest.cid, { store: await fresh(), sources: [odd, source('honest', blobs)], perSourceConcurrency: 1 }).catch(() => null);
    expect(result?.bySource.odd.strikes).toBeGreaterThan(0);
  });
});

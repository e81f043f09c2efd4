/**
 * file.read, .list, .advertise and .put (contract §4.7–4.10, M07 §4, §8) on real nodes joined by memory links, and
 * the bus clients busChunkSource and pushBlob.
 *
 * Chunk bytes between nodes travel as binary frames (DESIGN §3.5): only the tests under "ACROSS A LINK, NEEDS
 * BINARY FRAMES" depend on the transport carrying them. Every other test runs on one node's own bus or across links
 * with JSON only (manifests, lists, refusals).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CHUNK_SIZE_BYTES, HearthError, STREAM_WINDOW_FRAMES, type BlobManifest } from '../../../src/lib/core/index.js';
import {
  BlobStore,
  FILE_LIST_MAX_CIDS,
  FILE_READ_MAX_CHUNKS_PER_CALL,
  MemoryChunkStore,
  READ_GROUP_CHUNKS,
  busChunkSource,
  fetchBlob,
  manifestBody,
  parseManifest,
  pushBlob,
  type ChunkEventData,
  type PushProgress
} from '../../../src/lib/blobs/index.js';
import type { StreamEvent } from '../../../src/lib/transport/index.js';
import type { SimNetwork } from '../../sim/network.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';
import { vectorData } from '../core/vectors.js';
import { everyoneIs, fileMesh, joined, readBody, same, type FileMeshOptions, type FileNode } from './file-mesh.js';

useOrderedWebCrypto();

let net: SimNetwork | undefined;
afterEach(() => net?.stop());

async function mesh(options: FileMeshOptions): Promise<FileNode[]> {
  const made = await fileMesh(options);
  net = made.net;
  return made.nodes;
}

const time = () => net!.time;
const bus = (node: FileNode) => net!.nodes[node.index].bus;
const errorOf = (promise: Promise<unknown>) => time().resolve(promise).then(() => null, (err: unknown) => err as HearthError);

/** A blob of `chunks` chunks (the last one short), distinct per salt. */
const blobData = (chunks: number, salt: number) => vectorData(CHUNK_SIZE_BYTES * (chunks - 1) + 1000 + salt, salt);

/** A blob of `chunks` identical 256 KiB chunks, streamed: a manifest of any length while the store keeps one chunk. */
async function* repeatedChunks(chunks: number): AsyncGenerator<Uint8Array> {
  const chunk = new Uint8Array(CHUNK_SIZE_BYTES).fill(7);
  for (let k = 0; k < chunks; k++) yield chunk;
}
/** Chunks whose manifest's canonical JSON is past one 64 KiB frame. */
const TOO_MANY_FOR_A_FRAME = Math.ceil((64 * 1024) / 100);

/** `from` reads `cid` with file.read (on `node`, default its own bus); the events and the error it ended with. */
function read(from: FileNode, cid: unknown, options: { node?: FileNode; stopAfter?: number; extra?: Record<string, unknown> } = {}) {
  const events = bus(from).stream('file.read', '1.0', readBody(cid, options.extra), { node: (options.node ?? from).id });
  return time().collect(events, options.stopAfter);
}

/** A file.read that answers from `holder`'s store but flips a byte of every chunk: a lie told through the real bus. */
function lyingRead(holder: FileNode) {
  return async function* (body: unknown): AsyncGenerator<StreamEvent, unknown> {
    const cid = (body as { input: { cid: string; manifest_only?: boolean } }).input.cid;
    const manifest = await holder.store.manifest(cid).catch(() => undefined);
    if (manifest) {
      yield { event: 'manifest', data: manifest };
      return { chunks: 0, ms: 0 };
    }
    const bytes = await holder.store.chunk(cid);
    if (!bytes) throw new HearthError('not_found', `no ${cid}`);
    bytes[bytes.length >> 1] ^= 0x01;
    yield { event: 'chunk', data: { i: 0, cid, size_bytes: bytes.length, bytes } satisfies ChunkEventData };
    return { chunks: 1, ms: 0 };
  };
}

describe('file.read on this node (local bus)', () => {
  it('streams a blob as its manifest, then every chunk in order with its index, CID and bytes, then done', async () => {
    const [a] = await mesh({ size: 1 });
    const data = blobData(3, 1);
    const manifest = await a.store.add(data);
    const { events, error } = await read(a, manifest.cid);
    expect(error).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['manifest', 'chunk', 'chunk', 'chunk', 'done']);
    expect(events[0].data).toEqual(manifest);
    const chunks = events.filter((e) => e.event === 'chunk').map((e) => e.data as ChunkEventData);
    expect(chunks.map(({ i, cid, size_bytes }) => ({ i, cid, size_bytes }))).toEqual(manifest.chunks);
    expect(chunks.every((c) => c.bytes instanceof Uint8Array)).toBe(true);
    same(joined(events), data);
    expect(events[4].data).toMatchObject({ chunks: 3, ms: expect.any(Number) });
  });

  it('streams a single chunk asked for by its own CID as one chunk event (i = 0)', async () => {
    const [a] = await mesh({ size: 1 });
    const data = blobData(2, 2);
    const manifest = await a.store.add(data);
    const second = manifest.chunks[1];
    const { events, error } = await read(a, second.cid);
    expect(error).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['chunk', 'done']);
    expect(events[0].data).toMatchObject({ i: 0, cid: second.cid, size_bytes: second.size_bytes });
    same((events[0].data as ChunkEventData).bytes, data.subarray(CHUNK_SIZE_BYTES));
    expect(events[1].data).toMatchObject({ chunks: 1 });
  });

  it('with manifest_only ends after the manifest, reading no chunk; a chunk CID asked that way is bad_request', async () => {
    const [a] = await mesh({ size: 1 });
    const manifest = await a.store.add(blobData(4, 3));
    a.chunks.gets.length = 0;
    const { events } = await read(a, manifest.cid, { extra: { manifest_only: true } });
    expect(events).toEqual([{ event: 'manifest', data: manifest }, { event: 'done', data: { chunks: 0, ms: expect.any(Number) } }]);
    expect(a.chunks.gets).toEqual([manifest.cid]);
    const { error } = await read(a, manifest.chunks[0].cid, { extra: { manifest_only: true } });
    expect(error).toMatchObject({ code: 'bad_request', extra: { reason: 'not_a_manifest' } });
  });

  it('with chunks: [i, ...] streams just those chunks of a blob in the order asked, with no manifest', async () => {
    const [a] = await mesh({ size: 1 });
    const data = blobData(5, 10);
    const manifest = await a.store.add(data);
    const { events, error } = await read(a, manifest.cid, { extra: { chunks: [3, 1] } });
    expect(error).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['chunk', 'chunk', 'done']);
    const chunks = events.slice(0, 2).map((e) => e.data as ChunkEventData);
    expect(chunks.map(({ i, cid }) => ({ i, cid }))).toEqual([3, 1].map((i) => ({ i, cid: manifest.chunks[i].cid })));
    same(chunks[0].bytes, data.subarray(3 * CHUNK_SIZE_BYTES, 4 * CHUNK_SIZE_BYTES));
    same(chunks[1].bytes, data.subarray(CHUNK_SIZE_BYTES, 2 * CHUNK_SIZE_BYTES));
    expect(events[2].data).toMatchObject({ chunks: 2 });
  });

  it('refuses chunks it cannot serve with bad_request, and chunks it lacks with not_found before any event', async () => {
    const [a] = await mesh({ size: 1 });
    const manifest = await a.store.add(blobData(3, 11));
    const tooMany = Array.from({ length: FILE_READ_MAX_CHUNKS_PER_CALL + 1 }, (_, i) => i);
    for (const chunks of [[], [3], [1, 1], [-1], [0.5], tooMany]) {
      expect((await read(a, manifest.cid, { extra: { chunks } })).error, JSON.stringify(chunks).slice(0, 20)).toMatchObject({ code: 'bad_request' });
    }
    expect((await read(a, manifest.cid, { extra: { chunks: [0], manifest_only: true } })).error).toMatchObject({ code: 'bad_request' });
    expect((await read(a, manifest.chunks[0].cid, { extra: { chunks: [0] } })).error).toMatchObject({ code: 'bad_request', extra: { reason: 'not_a_manifest' } });
    // A holder of part of the blob serves the chunks it has, and refuses a run reaching beyond them.
    await a.chunks.delete([manifest.chunks[2].cid]);
    expect((await read(a, manifest.cid, { extra: { chunks: [0, 1] } })).error).toBeNull();
    const { events, error } = await read(a, manifest.cid, { extra: { chunks: [1, 2] } });
    expect(events).toEqual([]);
    expect(error).toMatchObject({ code: 'not_found', extra: { reason: 'incomplete' } });
  });

  it('sends a manifest too large for one JSON frame as its canonical JSON bytes, which hash to its CID', async () => {
    const [a] = await mesh({ size: 1 });
    const manifest = await a.store.add(repeatedChunks(TOO_MANY_FOR_A_FRAME));
    expect(manifestBody(manifest).length).toBeGreaterThan(64 * 1024);
    const { events } = await read(a, manifest.cid, { extra: { manifest_only: true } });
    const data = events[0].data as { cid: string; bytes: Uint8Array };
    expect(events[0].event).toBe('manifest');
    expect(data.cid).toBe(manifest.cid);
    expect(a.store.hasher.cid(data.bytes)).toBe(manifest.cid);
    expect(parseManifest(data.bytes, a.store.hasher, manifest.cid)).toEqual(manifest);
    const small = await a.store.add(blobData(2, 9));
    expect((await read(a, small.cid, { extra: { manifest_only: true } })).events[0].data).toEqual(small);
  });

  it('answers a malformed CID with bad_request saying what a CID is, and an unknown one with not_found', async () => {
    const [a] = await mesh({ size: 1 });
    const { error: malformed } = await read(a, 'blake3:XYZ');
    expect(malformed).toMatchObject({ code: 'bad_request' });
    expect((malformed as Error).message).toMatch(/input\.cid must be a CID, "blake3:" and 64 lowercase hex digits; got "blake3:XYZ"/);
    const { events, error } = await read(a, `blake3:${'0'.repeat(64)}`);
    expect(events).toEqual([]);
    expect(error).toMatchObject({ code: 'not_found' });
  });

  it('refuses a blob it holds only in part with not_found before any event, naming how much it has', async () => {
    const [a] = await mesh({ size: 1 });
    const manifest = await a.store.add(blobData(3, 4));
    await a.chunks.delete([manifest.chunks[1].cid]);
    const { events, error } = await read(a, manifest.cid);
    expect(events).toEqual([]);
    expect(error).toMatchObject({ code: 'not_found', extra: { reason: 'incomplete' } });
    expect((error as Error).message).toContain('holds 2 of the 3 chunks');
  });

  it('detects a chunk corrupted in the store on read: the stream fails not_found chunk_corrupt there and the chunk is deleted', async () => {
    const [a] = await mesh({ size: 1 });
    const manifest = await a.store.add(blobData(3, 5));
    const bad = manifest.chunks[1];
    const rotten = (await a.chunks.get(bad.cid))!;
    rotten[7] ^= 0x04; // one bit
    await a.chunks.delete([bad.cid]);
    await a.chunks.put([{ cid: bad.cid, bytes: rotten }]);
    const { events, error } = await read(a, manifest.cid);
    expect(events.map((e) => e.event)).toEqual(['manifest', 'chunk']);
    expect(error).toMatchObject({ code: 'not_found', extra: { reason: 'chunk_corrupt' } });
    expect(await a.store.missingChunks(manifest)).toEqual([bad]);
    // Asked for by itself, the chunk is now simply absent.
    expect((await read(a, bad.cid)).error).toMatchObject({ code: 'not_found' });
  });

  it('stops reading the store when the caller cancels mid-stream', async () => {
    const [a] = await mesh({ size: 1 });
    const manifest = await a.store.add(blobData(20, 6));
    a.chunks.gets.length = 0;
    const { events } = await read(a, manifest.cid, { stopAfter: 3 }); // manifest and two chunks, then break
    expect(events.map((e) => e.event)).toEqual(['manifest', 'chunk', 'chunk']);
    await time().advance(1000);
    // The manifest, and the chunks of at most two read groups: the one the chunks sent came from, and the one read
    // ahead while they were sent.
    expect(a.chunks.gets.length).toBeLessThanOrEqual(1 + 2 * READ_GROUP_CHUNKS);
    expect(bus(a).recentTraces(1)[0]).toMatchObject({ capability: 'file.read', result: 'cancelled' });
  });

  it('busChunkSource on the own bus feeds fetchBlob: a second store gets the blob byte for byte', async () => {
    const [a] = await mesh({ size: 1 });
    const data = blobData(3, 7);
    const manifest = await a.store.add(data);
    const copy = await BlobStore.open(new MemoryChunkStore());
    const result = await time().resolve(fetchBlob(manifest.cid, { store: copy, sources: [busChunkSource(bus(a), a.id, 'self')] }));
    expect(result).toMatchObject({ chunksFetched: 3, bySource: { self: { chunks: 3, strikes: 0 } } });
    same(await copy.readAll(manifest.cid), data);
  });
});

describe('file.read across a link, JSON only', () => {
  it('gives a neighbour the manifest (busChunkSource.manifest) and answers not_found for what it lacks', async () => {
    const [a, b] = await mesh({ size: 2 });
    const manifest = await a.store.add(blobData(3, 8));
    const source = busChunkSource(bus(b), a.id);
    expect(await time().resolve(source.manifest(manifest.cid))).toEqual(manifest);
    await expect(time().resolve(source.manifest(`blake3:${'1'.repeat(64)}`))).rejects.toMatchObject({ code: 'not_found' });
    expect(bus(a).recentTraces(5).filter((t) => t.capability === 'file.read' && t.direction === 'in').map((t) => t.from_node)).toEqual([b.id, b.id]);
  });

  it('fetchBlob from a neighbour without the blob fails not_found', async () => {
    const [a, b] = await mesh({ size: 2 });
    const cid = `blake3:${'2'.repeat(64)}`;
    expect(await errorOf(fetchBlob(cid, { store: b.store, sources: [busChunkSource(bus(b), a.id)] }))).toMatchObject({ code: 'not_found' });
  });
});

describe('file.list', () => {
  it('lists the blobs a neighbour keeps whole and pinned, filtered by prefix; not pieces, partial or unpinned blobs', async () => {
    const [a, b] = await mesh({ size: 2 });
    const kept = await Promise.all([1, 2, 3, 4, 5].map((salt) => a.store.add(blobData(1, salt + 20))));
    const partial = await a.store.add(blobData(2, 30));
    await a.chunks.delete([partial.chunks[0].cid]);
    const loose = await a.store.add(blobData(1, 31), { pin: false });
    const list = (input: Record<string, unknown>) => time().resolve(bus(b).call('file.list', '1.0', { params: {}, input }, { node: a.id })) as Promise<{ output: { cids: string[]; truncated: boolean } }>;

    const all = await list({});
    expect(all.output).toEqual({ cids: kept.map((m) => m.cid).sort(), truncated: false });
    expect(all.output.cids).not.toContain(loose.cid);
    expect(all.output.cids).not.toContain(partial.cid);
    expect(all.output.cids).not.toContain(kept[0].chunks[0].cid);

    const target = kept[2].cid;
    const byPrefix = await list({ prefix: target.slice(0, 'blake3:'.length + 4) });
    expect(byPrefix.output.cids).toContain(target);
    expect(byPrefix.output.cids.every((cid) => cid.startsWith(target.slice(0, 11)))).toBe(true);
    expect((await list({ prefix: target })).output.cids).toEqual([target]);
    expect((await list({ prefix: 'bla' })).output.cids).toHaveLength(5);
  });

  it('refuses a prefix that cannot start a CID with bad_request', async () => {
    const [a, b] = await mesh({ size: 2 });
    const error = await errorOf(bus(b).call('file.list', '1.0', { params: {}, input: { prefix: 'sha256:ab' } }, { node: a.id }));
    expect(error).toMatchObject({ code: 'bad_request' });
    expect(error!.message).toMatch(/input\.prefix must be the start of a CID/);
  });

  it(`answers at most ${FILE_LIST_MAX_CIDS} CIDs and says when it left some out`, async () => {
    const [a] = await mesh({ size: 1 });
    for (let k = 0; k <= FILE_LIST_MAX_CIDS; k++) await a.store.add(new TextEncoder().encode(`file ${k}`));
    const { output } = (await time().resolve(bus(a).call('file.list', '1.0', { params: {}, input: {} }))) as { output: { cids: string[]; truncated: boolean } };
    expect(output.cids).toHaveLength(FILE_LIST_MAX_CIDS);
    expect(output.truncated).toBe(true);
  });
});

describe('file.advertise', () => {
  it("hands the caller's NodeID and the CIDs (once each) to onAdvertise, and says how many it recorded", async () => {
    const [a, b] = await mesh({ size: 2 });
    const x = `blake3:${'a'.repeat(64)}`;
    const y = `blake3:${'b'.repeat(64)}`;
    const answer = await time().resolve(bus(b).call('file.advertise', '1.0', { params: {}, input: { cids: [x, y, x] } }, { node: a.id }));
    expect(answer).toMatchObject({ output: { recorded: 2 } });
    expect(a.advertised).toEqual([{ from: b.id, cids: [x, y] }]);
    // Its own call is answered, but a node is no source worth recording for itself.
    expect(await time().resolve(bus(a).call('file.advertise', '1.0', { params: {}, input: { cids: [x] } }))).toMatchObject({ output: { recorded: 0 } });
    expect(a.advertised).toHaveLength(1);
  });

  it('refuses anything but 1 to 1000 CIDs with bad_request naming the bad one, and records nothing', async () => {
    const [a, b] = await mesh({ size: 2 });
    const advertise = (cids: unknown) => errorOf(bus(b).call('file.advertise', '1.0', { params: {}, input: { cids } }, { node: a.id }));
    const bad = await advertise([`blake3:${'a'.repeat(64)}`, 'blake3:ABC']);
    expect(bad).toMatchObject({ code: 'bad_request' });
    expect(bad!.message).toMatch(/input\.cids\[1\] must be a CID/);
    expect(await advertise([])).toMatchObject({ code: 'bad_request' });
    expect(await advertise(Array(1001).fill(`blake3:${'a'.repeat(64)}`))).toMatchObject({ code: 'bad_request' });
    expect(a.advertised).toEqual([]);
  });
});

describe('file.put refusals (no chunk travels)', () => {
  it('M07 test_put_requires_trusted_caller: a member who is not trusted gets unauthorized and nothing is stored', async () => {
    const [a, b] = await mesh({ size: 2, membership: (i, n) => everyoneIs('member')(i, n) });
    const manifest = await a.store.add(blobData(2, 40));
    expect(await errorOf(pushBlob(bus(a), b.id, manifest.cid, { store: a.store }))).toMatchObject({ code: 'unauthorized' });
    expect(await b.chunks.bytesUsed()).toBe(0);
    expect(bus(a).recentTraces(10).filter((t) => t.capability === 'file.read' && t.direction === 'in')).toEqual([]);
  });

  it('refuses a blob that would not fit with capacity_exceeded, storing and pulling nothing', async () => {
    const [a, b] = await mesh({ size: 2, membership: everyoneIs('trusted'), capacityBytes: (i) => (i === 1 ? CHUNK_SIZE_BYTES : undefined) });
    const manifest = await a.store.add(blobData(2, 41));
    const error = await errorOf(pushBlob(bus(a), b.id, manifest.cid, { store: a.store }));
    expect(error).toMatchObject({ code: 'capacity_exceeded' });
    expect(error!.message).toContain(`keeps at most ${CHUNK_SIZE_BYTES} bytes`);
    expect(await b.chunks.bytesUsed()).toBe(0);
    expect(await b.chunks.pins()).toEqual([]);
  });

  it('makes room by a gc of unpinned chunks, keeping the chunks of the blob it is given; a blob already held needs nothing', async () => {
    const data = blobData(2, 42);
    // Room for the blob and its manifest, not for the cached blob as well.
    const capacity = data.length + 600;
    const [a, b] = await mesh({ size: 2, membership: everyoneIs('trusted'), capacityBytes: (i) => (i === 1 ? capacity : undefined) });
    const manifest = await a.store.add(data);
    // b has the blob's chunks (unpinned, with no manifest) and a cached blob that fills it up.
    await b.store.putChunks(manifest.chunks.map((c) => ({ cid: c.cid, bytes: data.subarray(c.i * CHUNK_SIZE_BYTES, c.i * CHUNK_SIZE_BYTES + c.size_bytes) })));
    const cache = await b.store.add(blobData(1, 43), { pin: false });
    const ready: (readonly number[])[] = [];
    const result = await time().resolve(pushBlob(bus(a), b.id, manifest.cid, { store: a.store, onReady: (needed) => ready.push(needed) }));
    expect(ready).toEqual([[]]);
    expect(result).toMatchObject({ needed: [], received: 0, bytesReceived: 0 });
    expect(await b.store.has(manifest.cid)).toBe(true);
    expect(await b.chunks.pins()).toEqual([manifest.cid]);
    expect(await b.store.has(cache.cid)).toBe(false); // evicted for room
    expect(await b.chunks.bytesUsed()).toBeLessThanOrEqual(capacity);
  });

  it('refuses a manifest whose cid is not its hash with bad_request manifest_invalid', async () => {
    const [a, b] = await mesh({ size: 2, membership: everyoneIs('trusted') });
    const manifest = await a.store.add(blobData(2, 44));
    const forged: BlobManifest = { ...manifest, size_bytes: manifest.size_bytes + 1, chunks: manifest.chunks.map((c, i) => (i === 1 ? { ...c, size_bytes: c.size_bytes + 1 } : c)) };
    const { error } = await time().collect(bus(a).stream('file.put', '1.0', { params: {}, input: { manifest: forged } }, { node: b.id }));
    expect(error).toMatchObject({ code: 'bad_request', extra: { reason: 'manifest_invalid' } });
    const { error: noCid } = await time().collect(bus(a).stream('file.put', '1.0', { params: {}, input: { manifest: { ...manifest, cid: undefined } } }, { node: b.id }));
    expect(noCid).toMatchObject({ code: 'bad_request' });
  });

  it('pushBlob refuses to offer a blob this node does not hold whole', async () => {
    const [a, b] = await mesh({ size: 2, membership: everyoneIs('trusted') });
    const manifest = await a.store.add(blobData(2, 45));
    await a.chunks.delete([manifest.chunks[0].cid]);
    expect(await errorOf(pushBlob(bus(a), b.id, manifest.cid, { store: a.store }))).toMatchObject({ code: 'not_found' });
  });
});

// Chunk bytes cross a link here, as binary frames (DESIGN §3.5): without them chunk events are refused or mangled.
describe('ACROSS A LINK, NEEDS BINARY FRAMES: chunk transfer between nodes', () => {
  it('M07 test_two_node_blob_fetch: a neighbour streams the manifest and every chunk, byte-identical', async () => {
    const [a, b] = await mesh({ size: 2 });
    const data = blobData(3, 50);
    const manifest = await a.store.add(data);
    const { events, error } = await read(b, manifest.cid, { node: a });
    expect(error).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['manifest', 'chunk', 'chunk', 'chunk', 'done']);
    expect(events[0].data).toEqual(manifest);
    same(joined(events), data);
    const result = await time().resolve(fetchBlob(manifest.cid, { store: b.store, sources: [busChunkSource(bus(b), a.id)] }));
    expect(result.chunksFetched).toBe(3);
    same(await b.store.readAll(manifest.cid), data);
  });

  it('fetchBlob asks a neighbour for runs of chunks: a few file.read calls for twenty chunks, byte-identical', async () => {
    const [a, b] = await mesh({ size: 2 });
    const data = blobData(20, 55);
    const manifest = await a.store.add(data);
    const result = await time().resolve(fetchBlob(manifest.cid, { store: b.store, sources: [busChunkSource(bus(b), a.id)] }));
    expect(result.chunksFetched).toBe(20);
    same(await b.store.readAll(manifest.cid), data);
    // The manifest, then runs of 2, 2, 4, 4, 8 at most (two requests in flight to the one source, runs doubling).
    const reads = bus(a).recentTraces(50).filter((t) => t.capability === 'file.read' && t.direction === 'in');
    expect(reads.length).toBeLessThanOrEqual(6);
  });

  it('M07 test_three_source_parallel_fetch: fetchBlob with busChunkSource takes chunks from every holder at once', async () => {
    const [fetcher, ...holders] = await mesh({ size: 4 });
    const data = blobData(9, 51);
    const manifests = await Promise.all(holders.map((h) => h.store.add(data)));
    const cid = manifests[0].cid;
    const result = await time().resolve(fetchBlob(cid, { store: fetcher.store, sources: holders.map((h) => busChunkSource(bus(fetcher), h.id)) }));
    expect(result.chunksFetched).toBe(9);
    for (const h of holders) expect(result.bySource[h.id].chunks).toBeGreaterThan(0);
    same(await fetcher.store.readAll(cid), data);
    expect(await fetcher.chunks.pins()).toEqual([cid]);
  });

  it('M07 test_chunk_corruption_falls_over_to_alt_source: a holder lying through its own file.read is struck, the honest one serves', async () => {
    const [fetcher, honest, liar] = await mesh({ size: 3, without: [2] });
    const data = blobData(6, 52);
    const manifest = await honest.store.add(data);
    await liar.store.add(data);
    net!.nodes[liar.index].register({ name: 'file.read', version: '1.0', owner: 'file', idempotent: true, handler: lyingRead(liar) });
    await time().advance(100);
    const result = await time().resolve(
      fetchBlob(manifest.cid, { store: fetcher.store, sources: [busChunkSource(bus(fetcher), liar.id, 'liar'), busChunkSource(bus(fetcher), honest.id, 'honest')] })
    );
    // Over a link the transport hashes the bytes and refuses them (bad_request); fetchBlob strikes the source either way.
    expect(result.bySource.liar).toMatchObject({ chunks: 0 });
    expect(result.bySource.liar.strikes).toBeGreaterThan(0);
    expect(result.bySource.honest.chunks).toBe(6);
    same(await fetcher.store.readAll(manifest.cid), data);
  });

  it("a neighbour's cancel mid-stream stops the server reading", async () => {
    const [a, b] = await mesh({ size: 2 });
    const manifest = await a.store.add(blobData(40, 53));
    a.chunks.gets.length = 0;
    const { events } = await read(b, manifest.cid, { node: a, stopAfter: 3 });
    expect(events.map((e) => e.event)).toEqual(['manifest', 'chunk', 'chunk']);
    await time().advance(1000);
    const readThen = a.chunks.gets.length;
    await time().advance(5000);
    expect(a.chunks.gets.length).toBe(readThen);
    // The manifest, the chunks the stream window let it send ahead of the consumer, the rest of their read group and
    // the group read ahead at the cancel.
    expect(readThen).toBeLessThanOrEqual(1 + STREAM_WINDOW_FRAMES + 2 * READ_GROUP_CHUNKS);
  });

  it('file.put pulls only the chunks the receiver lacks, reports progress, and stores and pins the blob', async () => {
    const [a, b] = await mesh({ size: 2, membership: everyoneIs('trusted') });
    const data = blobData(6, 54);
    const manifest = await a.store.add(data);
    const slice = (i: number) => data.subarray(i * CHUNK_SIZE_BYTES, i * CHUNK_SIZE_BYTES + manifest.chunks[i].size_bytes);
    await b.store.putChunks([0, 2, 4].map((i) => ({ cid: manifest.chunks[i].cid, bytes: slice(i) })));
    const progress: PushProgress[] = [];
    const result = await time().resolve(pushBlob(bus(a), b.id, manifest.cid, { store: a.store, onProgress: (p) => progress.push(p) }));
    expect(result).toMatchObject({ needed: [1, 3, 5], received: 3 });
    expect(result.bytesReceived).toBe([1, 3, 5].reduce((n, i) => n + manifest.chunks[i].size_bytes, 0));
    expect(progress.at(-1)).toEqual({ received: 3, needed: 3 });
    const served = bus(a).recentTraces(20).filter((t) => t.capability === 'file.read' && t.direction === 'in');
    expect(served).toHaveLength(3);
    expect(served.every((t) => t.from_node === b.id && t.result === 'ok')).toBe(true);
    same(await b.store.readAll(manifest.cid), data);
    expect(await b.chunks.pins()).toEqual([manifest.cid]);
  });

  it('a blob whose manifest does not fit one JSON frame is fetched and pushed across links (the manifest travels as bytes)', async () => {
    const [a, b, c] = await mesh({ size: 3, membership: everyoneIs('trusted') });
    const manifest = await a.store.add(repeatedChunks(TOO_MANY_FOR_A_FRAME));
    expect(await time().resolve(busChunkSource(bus(b), a.id).manifest(manifest.cid))).toBeInstanceOf(Uint8Array);
    const fetched = await time().resolve(fetchBlob(manifest.cid, { store: b.store, sources: [busChunkSource(bus(b), a.id)] }));
    expect(fetched).toMatchObject({ manifest, chunksFetched: 1 });
    expect(await b.store.has(manifest.cid)).toBe(true);
    const pushed = await time().resolve(pushBlob(bus(a), c.id, manifest.cid, { store: a.store }));
    expect(pushed).toMatchObject({ received: 1 });
    expect(pushed.needed).toHaveLength(1); // one index per distinct chunk
    expect(await c.store.has(manifest.cid)).toBe(true);
    expect(await c.chunks.pins()).toEqual([manifest.cid]);
  });

  it('file.put fails bad_request naming the chunk when the caller serves bytes that are not the chunk, and keeps no pin', async () => {
    const [a, b] = await mesh({ size: 2, membership: everyoneIs('trusted'), without: [0] });
    const manifest = await a.store.add(blobData(2, 55));
    net!.nodes[a.index].register({ name: 'file.read', version: '1.0', owner: 'file', idempotent: true, handler: lyingRead(a) });
    await time().advance(100);
    const error = await errorOf(pushBlob(bus(a), b.id, manifest.cid, { store: a.store }));
    expect(error).toMatchObject({ code: 'bad_request' });
    expect(error!.message).toMatch(/^file\.put: chunk \d from /);
    expect(await b.store.has(manifest.cid)).toBe(false);
    expect(await b.chunks.pins()).toEqual([]);
  });
});

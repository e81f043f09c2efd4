/**
 * LibraryNode (issue 6) on real nodes over memory links: files announced to linked peers and listed there by name,
 * downloads from several holders with progress and speed, a download nobody can serve and its resume, cancel,
 * remove in a community, replication of announced documents (the bridge's option), and the bounds on what
 * file.advertise callers make a node remember.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CHUNK_SIZE_BYTES, HearthError } from '../../../src/lib/core/index.js';
import { MAX_ADVERTISED_CIDS_PER_PEER, MAX_ADVERTISING_PEERS, type Transfer } from '../../../src/lib/library/index.js';
import type { SimNetwork } from '../../sim/network.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';
import { buildTinyPdf } from '../../support/tiny-pdf.js';
import { vectorData } from '../core/vectors.js';
import { same } from '../blobs/file-mesh.js';
import { communityMesh, openRoom, type CommunityMesh, type LibraryPeer } from './library-mesh.js';

useOrderedWebCrypto();

let net: SimNetwork | undefined;
let mesh: CommunityMesh | undefined;
afterEach(() => {
  mesh?.stop();
  net?.stop();
  mesh = undefined;
  net = undefined;
});

/** A file of `chunks` chunks (the last one short), distinct per salt. */
const fileData = (chunks: number, salt: number) => vectorData(CHUNK_SIZE_BYTES * (chunks - 1) + 1000 + salt, salt);
const cidOf = (n: number) => `blake3:${n.toString(16).padStart(64, '0')}`;

/** Reads of the file's data chunks a holder's store served (its manifest left out). */
async function chunkReads(holder: LibraryPeer, cid: string): Promise<number> {
  const manifest = (await holder.library.blobs.manifest(cid))!;
  const data = new Set(manifest.chunks.map((c) => c.cid));
  return holder.chunks.gets.filter((c) => data.has(c)).length;
}

describe('LibraryNode in the open room (no community)', () => {
  it('addFile tells every linked peer (file.advertise with the name); the peer lists it by name and knows the holder', async () => {
    const room = await openRoom(2, 61);
    net = room.net;
    const [a, b] = room.peers;
    const bytes = fileData(2, 1);
    const manifest = await net.time.resolve(a.library.addFile({ name: 'Trinkwasser.pdf', mediaType: 'application/pdf', bytes }));
    await net.run(200);
    expect(b.library.advertisedFiles()).toEqual([{ cid: manifest.cid, description: { name: 'Trinkwasser.pdf', media_type: 'application/pdf', size_bytes: bytes.length } }]);
    expect(b.library.holdersOf(manifest.cid)).toEqual([a.id]);
    // A keeps what it added: pinned, named, readable.
    expect(await a.chunks.pins()).toContain(manifest.cid);
    expect(a.library.meta(manifest.cid)).toMatchObject({ name: 'Trinkwasser.pdf', size_bytes: bytes.length });
  });

  it('downloads from two holders at once: progress along the way, speed > 0, the name it was announced with, identical bytes', async () => {
    const room = await openRoom(3, 62);
    net = room.net;
    const [a, b, c] = room.peers;
    const bytes = fileData(12, 2);
    const manifest = await net.time.resolve(a.library.addFile({ name: 'karte.png', mediaType: 'image/png', bytes }));
    await net.time.resolve(b.library.addFile({ name: 'karte.png', mediaType: 'image/png', bytes }));
    await net.run(200);
    expect(c.library.holdersOf(manifest.cid).sort()).toEqual([a.id, b.id].sort());

    let heard = 0;
    c.library.subscribe(() => heard++);
    const seen: Transfer[] = [];
    const download = c.library.download(manifest.cid);
    await net.time.until(
      () => {
        const [transfer] = c.library.transferList();
        seen.push(transfer);
        return transfer.phase !== 'fetching';
      },
      60_000,
      1
    );
    const transfer = await download;
    expect(transfer).toMatchObject({ cid: manifest.cid, name: 'karte.png', phase: 'done', bytesDone: bytes.length, bytesTotal: bytes.length, error: null });
    expect(transfer.sources.sort()).toEqual([a.id, b.id].sort());
    expect(transfer.bytesPerSecond).toBeGreaterThan(0);
    const midway = seen.filter((t) => t.phase === 'fetching' && t.bytesDone > 0 && t.bytesDone < bytes.length);
    expect(midway.length).toBeGreaterThan(0);
    expect(midway.some((t) => t.bytesPerSecond > 0)).toBe(true);
    expect(heard).toBeGreaterThanOrEqual(2); // started, ended
    same(await c.library.read(manifest.cid), bytes);
    expect(c.library.meta(manifest.cid)).toMatchObject({ name: 'karte.png', media_type: 'image/png', size_bytes: bytes.length });
    // C now holds it too, and says so to its peers.
    await net.run(200);
    expect(a.library.holdersOf(manifest.cid)).toContain(c.id);
  });

  it('cancel ends a download as cancelled; with no holder linked a download fails not_found; once linked it fetches only the missing chunks', async () => {
    const room = await openRoom(2, 63);
    net = room.net;
    const [a, c] = room.peers;
    const total = 40;
    const bytes = fileData(total, 3);
    const manifest = await net.time.resolve(a.library.addFile({ name: 'atlas.bin', mediaType: '', bytes }));
    await net.run(200);

    const first = c.library.download(manifest.cid);
    await net.time.until(() => c.library.transferList()[0].bytesDone >= 8 * CHUNK_SIZE_BYTES, 60_000, 1);
    c.library.cancel(manifest.cid);
    const cancelled = await net.time.resolve(first);
    expect(cancelled.phase).toBe('cancelled');
    expect(cancelled.error?.code).toBe('timeout');
    const partial = (await c.library.localState(manifest.cid))!;
    expect(partial.held).toBeGreaterThanOrEqual(8);
    expect(partial.held).toBeLessThan(total);

    net.pair(0, 1).close();
    await net.run(200);
    expect(c.library.holdersOf(manifest.cid)).toEqual([a.id]); // still known, no longer linked
    const alone = await net.time.resolve(c.library.download(manifest.cid));
    expect(alone.phase).toBe('failed');
    expect(alone.error).toBeInstanceOf(HearthError);
    expect(alone.error!.code).toBe('not_found');
    expect(alone.error!.message).toMatch(/no node in reach holds this file/);

    net.connect(0, 1);
    await net.run(200);
    const readsBefore = await chunkReads(a, manifest.cid);
    const resumed = await net.time.resolve(c.library.download(manifest.cid));
    expect(resumed.phase).toBe('done');
    expect((await chunkReads(a, manifest.cid)) - readsBefore).toBe(total - partial.held);
    same(await c.library.read(manifest.cid), bytes);
  });

  it('a second download of the same file while one runs waits for it, and a remove while it runs ends both (no waiter left hanging)', async () => {
    const room = await openRoom(2, 64);
    net = room.net;
    const [a, c] = room.peers;
    const bytes = fileData(40, 4);
    const manifest = await net.time.resolve(a.library.addFile({ name: 'big.bin', mediaType: '', bytes }));
    await net.run(200);
    const first = c.library.download(manifest.cid);
    const second = c.library.download(manifest.cid);
    await net.time.until(() => c.library.transferList()[0].bytesDone > 0, 60_000, 1);
    await net.time.resolve(c.library.remove(manifest.cid));
    const [one, two] = await net.time.resolve(Promise.all([first, second]));
    expect([one.phase, two.phase]).toEqual(['cancelled', 'cancelled']);
    // Removed: no record, no name, and the partial chunks are no longer pinned (the next gc takes them).
    expect(c.library.transferList()).toEqual([]);
    expect(c.library.meta(manifest.cid)).toBeUndefined();
    expect(await c.chunks.pins()).not.toContain(manifest.cid);
  });

  it('a peer flooding file.advertise cannot grow what this node remembers; an honest peer\'s file stays listed', async () => {
    const room = await openRoom(3, 65);
    net = room.net;
    const [a, flooder, honest] = room.peers;
    const kept = await net.time.resolve(honest.library.addFile({ name: 'plan.pdf', mediaType: 'application/pdf', bytes: fileData(1, 5) }));
    await net.run(200);
    const perCall = 200;
    const calls = Math.ceil((MAX_ADVERTISED_CIDS_PER_PEER * 2) / perCall);
    for (let k = 0; k < calls; k++) {
      const cids = Array.from({ length: perCall }, (_, i) => cidOf(k * perCall + i + 1));
      const files = cids.map((cid) => ({ cid, name: `junk-${cid.slice(-6)}.exe`, media_type: 'application/octet-stream', size_bytes: 1 }));
      await net.time.resolve(net.nodes[flooder.index].bus.call('file.advertise', '1.0', { params: {}, input: { cids, files } }, { node: a.id }));
      await net.run(150); // within file.advertise's per-caller rate
    }
    const listed = a.library.advertisedFiles();
    expect(listed.length).toBe(MAX_ADVERTISED_CIDS_PER_PEER + 1);
    expect(listed.find((f) => f.cid === kept.cid)?.description?.name).toBe('plan.pdf');
    // The flooder's newest advertisements are kept, its oldest forgotten, descriptions with them.
    expect(a.library.holdersOf(cidOf(calls * perCall))).toEqual([flooder.id]);
    expect(a.library.holdersOf(cidOf(1))).toEqual([]);
    await net.time.resolve(net.nodes[honest.index].bus.call('file.advertise', '1.0', { params: {}, input: { cids: [cidOf(1)] } }, { node: a.id }));
    expect(a.library.advertisedFiles().find((f) => f.cid === cidOf(1))?.description).toBeNull();

    // Many callers, one CID each: only the most recent MAX_ADVERTISING_PEERS are remembered.
    const callers = MAX_ADVERTISING_PEERS + 8;
    for (let k = 0; k < callers; k++) {
      const caller = `ed25519:${'C'.repeat(40)}${k.toString().padStart(3, '0')}`;
      await a.advertise.handler({ params: {}, input: { cids: [cidOf(100_000 + k)] } }, { caller, requestId: `r${k}`, signal: new AbortController().signal });
    }
    expect(a.library.advertisedFiles().length).toBe(MAX_ADVERTISING_PEERS);
    expect(a.library.holdersOf(cidOf(100_000 + callers - 1))).toHaveLength(1);
    expect(a.library.holdersOf(kept.cid)).toEqual([]); // the honest peer advertised longest ago
  });
});

describe('LibraryNode in a community', () => {
  it('remove unpins the file, forgets its name and writes file.cid.unpinned: members stop listing this node as a holder', async () => {
    mesh = await communityMesh(2, 71);
    net = undefined;
    const [a, b] = mesh.peers;
    const manifest = await mesh.net.time.resolve(a.library.addFile({ name: 'notes.txt', mediaType: 'text/plain', bytes: fileData(2, 6) }));
    await mesh.converge();
    expect(b.library.holdersOf(manifest.cid)).toEqual([a.id]);

    await mesh.net.time.resolve(a.library.remove(manifest.cid));
    const unpinned = (await a.community.log.events()).filter((e) => e.event_type === 'file.cid.unpinned');
    expect(unpinned.map((e) => [e.author, e.data.cid])).toEqual([[a.id, manifest.cid]]);
    expect(await a.chunks.pins()).not.toContain(manifest.cid);
    expect(a.library.meta(manifest.cid)).toBeUndefined();
    await mesh.converge();
    expect(b.library.holdersOf(manifest.cid)).toEqual([]);
  });

  it('replicate: a node indexes a document an anchor announced and answers rag.query for the corpus after the anchor has gone', async () => {
    mesh = await communityMesh(3, 72, { replicate: [1] });
    const [anchor, bridge, member] = mesh.peers;
    const time = mesh.net.time;
    const pdf = buildTinyPdf([
      'Trinkwasser im Notfall. Regenwasser durch ein sauberes Tuch filtern und danach mindestens eine Minute sprudelnd abkochen.',
      'Generator sicher betreiben. Einen Generator niemals in geschlossenen Räumen betreiben: Kohlenmonoxid ist tödlich.'
    ]);
    const doc = await time.resolve(anchor.library.addFile({ name: 'notfall.pdf', mediaType: 'application/pdf', bytes: pdf }));
    await time.resolve(mesh.net.nodes[0].bus.call('rag.ingest', '1.0', { params: { corpus: 'notfall' }, input: { doc_cid: doc.cid, title: 'Notfall-Handbuch' } }, { node: anchor.id, timeoutMs: 60_000 }));

    await time.until(() => bridge.library.rag.holds('notfall', doc.cid), 120_000, 100);
    expect(bridge.library.rag.holds('notfall', doc.cid)).toBe(true);
    same(await bridge.library.read(doc.cid), pdf); // fetched from the anchor, kept

    // The anchor leaves; the bridge answers for the corpus.
    mesh.net.pair(0, 1).close();
    mesh.net.pair(0, 2).close();
    await mesh.net.run(1_000);
    const answer = (await time.resolve(
      mesh.net.nodes[member.index].bus.call('rag.query', '1.0', { params: { corpus: 'notfall' }, input: { query: 'Darf der Generator in die Garage?', k: 1 } }, { node: bridge.id })
    )) as { output: { chunks: { text: string; metadata: { doc_cid: string; page?: number } }[] }; meta: { served_by: string } };
    expect(answer.meta.served_by).toBe(bridge.id);
    expect(answer.output.chunks[0].metadata).toMatchObject({ doc_cid: doc.cid, page: 2 });
    expect(answer.output.chunks[0].text).toContain('Kohlenmonoxid');
  });

  it('replicate: a document a plain member announced is not indexed (rag.ingest needs a trusted member; the event alone does not do)', async () => {
    mesh = await communityMesh(3, 73, { replicate: [1] });
    const [, bridge, member] = mesh.peers;
    const time = mesh.net.time;
    const doc = await time.resolve(member.library.addFile({ name: 'spam.txt', mediaType: 'text/plain', bytes: new TextEncoder().encode('Buy cheap generators now at the corner shop, best prices in town.') }));
    // On its own node a member may ingest (self); the event it writes is in the log for everyone.
    await time.resolve(mesh.net.nodes[member.index].bus.call('rag.ingest', '1.0', { params: { corpus: 'notfall' }, input: { doc_cid: doc.cid, title: 'Angebote' } }, { node: member.id, timeoutMs: 60_000 }));
    await mesh.converge();
    expect((await bridge.community.log.events()).some((e) => e.event_type === 'rag.document.ingested' && e.author === member.id)).toBe(true);
    await mesh.net.run(10_000);
    expect(bridge.library.rag.holds('notfall', doc.cid)).toBe(false);
    expect(bridge.library.rag.corpusNames).toEqual([]);
  });
});

describe('LibraryNode garbage collection (M07 §5.4)', () => {
  it('past 80 % of its capacity it collects unpinned chunks, least recently used first, down to 70 %; pinned files stay', async () => {
    const { SimNetwork } = await import('../../sim/network.js');
    const { libraryOn } = await import('./library-mesh.js');
    net = await SimNetwork.create({ size: 1, seed: 91, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000 });
    // Room for 8 chunks: high water 6.4, low water 5.6. fileData(n) is n - 1 whole chunks and a short one.
    const peer = await libraryOn(net, 0, { capacityBytes: 8 * CHUNK_SIZE_BYTES });
    const kept = await peer.library.addFile({ name: 'kept.bin', mediaType: '', bytes: fileData(3, 1) });
    const removed = await peer.library.addFile({ name: 'removed.bin', mediaType: '', bytes: fileData(4, 2) });
    await peer.library.remove(removed.cid);
    // Removing alone collects nothing: about 5 chunks is under the high-water mark.
    expect(await peer.library.blobs.chunks.has(removed.chunks[0].cid)).toBe(true);
    const added = await peer.library.addFile({ name: 'new.bin', mediaType: '', bytes: fileData(3, 3) });
    // Before storing the new file the store was under the mark; now it is over, and the next write collects.
    expect(await peer.library.collectGarbage()).toBeGreaterThan(0);
    expect(await peer.library.blobs.chunks.bytesUsed()).toBeLessThanOrEqual(5.6 * CHUNK_SIZE_BYTES);
    expect(await peer.library.blobs.has(kept.cid)).toBe(true);
    expect(await peer.library.blobs.has(added.cid)).toBe(true);
    expect(await peer.library.blobs.chunks.has(removed.chunks[0].cid)).toBe(false);
    same(await peer.library.read(kept.cid), fileData(3, 1));
  });
});

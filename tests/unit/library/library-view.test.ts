import { describe, expect, it } from 'vitest';
import { LibraryView } from '../../../src/lib/library/index.js';
import type { EventEnvelope } from '../../../src/lib/events/index.js';
import { Community, shuffled } from '../market/fixtures.js';

const CID_A = 'blake3:' + 'a'.repeat(64);
const CID_B = 'blake3:' + 'b'.repeat(64);

function viewOf(c: Community, events: readonly EventEnvelope[] = c.events): LibraryView {
  const view = new LibraryView(c.standing);
  for (const event of events) view.apply(event);
  return view;
}

describe('LibraryView', () => {
  it('lists who holds a file from file.cid.advertised and drops a holder on file.cid.unpinned (L2, L3)', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const bob = await c.author(2);
    await alice.emit('file.cid.advertised', { cid: CID_A, size_bytes: 5_000_000, name: 'water.pdf', media_type: 'application/pdf' });
    await bob.emit('file.cid.advertised', { cid: CID_A, size_bytes: 5_000_000, name: 'renamed.pdf' });
    expect(viewOf(c).sharedFile(CID_A)).toMatchObject({ name: 'water.pdf', media_type: 'application/pdf', size_bytes: 5_000_000, holders: [alice.id, bob.id] });
    await alice.emit('file.cid.unpinned', { cid: CID_A });
    expect(viewOf(c).sharedFile(CID_A)?.holders).toEqual([bob.id]);
  });

  it('ignores events of non-members and malformed data (L1, L2)', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const outsider = await c.author(3, 'none');
    const revoked = await c.author(4, 'revoked');
    await outsider.emit('file.cid.advertised', { cid: CID_A, size_bytes: 1 });
    await revoked.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_B, title: 'x', chunks: 1 });
    await alice.emit('file.cid.advertised', { cid: 'not-a-cid', size_bytes: 1 });
    await alice.emit('file.cid.advertised', { cid: CID_B, size_bytes: -1 });
    await alice.emit('rag.document.ingested', { corpus: '../etc', doc_cid: CID_B, title: 'x', chunks: 1 });
    await alice.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_B, title: 'x'.repeat(301), chunks: 1 });
    const view = viewOf(c);
    expect(view.sharedFiles()).toEqual([]);
    expect(view.corpusDocuments()).toEqual([]);
  });

  it('keeps one entry per corpus, document and indexing node; a later event of that node replaces it (L4)', async () => {
    const c = new Community();
    const alice = await c.author(1, 'trusted');
    const bridge = await c.author(2, 'trusted');
    await alice.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_A, title: 'Guide', chunks: 3, embedding_model: 'hearth-hashed-ngrams-v1' });
    await bridge.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_A, title: 'Guide', chunks: 3, embedding_model: null });
    await alice.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_A, title: 'Guide (2nd ed.)', chunks: 4 });
    const docs = viewOf(c).corpusDocuments();
    expect(docs.map((d) => [d.holder === alice.id ? 'alice' : 'bridge', d.title, d.chunks])).toEqual([
      ['bridge', 'Guide', 3],
      ['alice', 'Guide (2nd ed.)', 4]
    ]);
  });

  it('counts a document only when a trusted member or an anchor announced it: rag.ingest needs one (L4)', async () => {
    const c = new Community();
    const member = await c.author(1, 'member');
    const trusted = await c.author(2, 'trusted');
    const anchor = await c.author(3, 'anchor');
    await member.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_A, title: 'Cheap generators', chunks: 1 });
    await trusted.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_B, title: 'Water', chunks: 2 });
    await anchor.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_B, title: 'Water', chunks: 2 });
    expect(viewOf(c).corpusDocuments().map((d) => [d.doc_cid, d.holder])).toEqual([
      [CID_B, [trusted.id, anchor.id].sort()[0]],
      [CID_B, [trusted.id, anchor.id].sort()[1]]
    ]);
  });

  it('counts a plain member\'s announcement as a copy of a document a trusted member announced first (the bridge\'s replica, L4)', async () => {
    const c = new Community();
    const trusted = await c.author(1, 'trusted');
    const bridge = await c.author(2, 'member');
    await bridge.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_A, title: 'Too early', chunks: 1 });
    await trusted.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_A, title: 'Guide', chunks: 3 });
    await bridge.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_A, title: 'Guide', chunks: 3 });
    await bridge.emit('rag.document.ingested', { corpus: 'other', doc_cid: CID_A, title: 'Guide', chunks: 3 });
    const view = viewOf(c);
    const entries = view.corpusDocuments().map((d) => `${d.corpus} ${d.holder === trusted.id ? 'trusted' : 'bridge'} ${d.copy ? 'copy' : 'vetted'} ${d.title}`);
    expect(entries.sort()).toEqual(['emergency bridge copy Guide', 'emergency trusted vetted Guide']);
    const restored = new LibraryView(c.standing);
    restored.restoreState(JSON.parse(JSON.stringify(view.snapshotState())));
    expect(restored.snapshotState()).toEqual(view.snapshotState());
  });

  it('no longer lists a holder revoked since it announced the file; the stored state keeps the event\'s effect (L5)', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const mallory = await c.author(2);
    await alice.emit('file.cid.advertised', { cid: CID_A, size_bytes: 10, name: 'a.txt' });
    await mallory.emit('file.cid.advertised', { cid: CID_A, size_bytes: 10 });
    const view = viewOf(c);
    expect(view.sharedFile(CID_A)?.holders).toEqual([alice.id, mallory.id]);
    c.standing.set(mallory.id, 'revoked');
    expect(view.sharedFile(CID_A)?.holders).toEqual([alice.id]);
    expect(view.sharedFiles()[0].holders).toEqual([alice.id]);
    expect(view.snapshotState().files[0].holders).toEqual([alice.id, mallory.id]);
  });

  it('holds the same state whatever order the events arrive in, and survives a snapshot', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const bob = await c.author(2);
    await alice.emit('file.cid.advertised', { cid: CID_A, size_bytes: 10 });
    await bob.emit('file.cid.advertised', { cid: CID_B, size_bytes: 20, name: 'b.txt' });
    await alice.emit('rag.document.ingested', { corpus: 'emergency', doc_cid: CID_B, title: 'B', chunks: 1 });
    await bob.emit('file.cid.unpinned', { cid: CID_B });
    const sorted = [...c.events].sort((x, y) => x.lamport - y.lamport || x.event_id.localeCompare(y.event_id));
    const reference = viewOf(c, sorted).snapshotState();
    for (let seed = 1; seed <= 5; seed++) {
      const replayed = shuffled(c.events, seed).sort((x, y) => x.lamport - y.lamport || x.event_id.localeCompare(y.event_id));
      expect(viewOf(c, replayed).snapshotState()).toEqual(reference);
    }
    const restored = new LibraryView(c.standing);
    restored.restoreState(JSON.parse(JSON.stringify(reference)));
    expect(restored.snapshotState()).toEqual(reference);
  });
});

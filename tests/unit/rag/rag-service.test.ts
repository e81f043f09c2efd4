/**
 * rag.ingest / rag.query / rag.list_corpora on a real bus (contract §4.4–4.6), with the real blob store (memory
 * chunks) as the document source and the product's zero-download embedder: a PDF the test builds is added as a blob,
 * ingested by its CID, and found again by a question, with its page.
 */
import { describe, expect, it } from 'vitest';
import { BlobStore, MemoryChunkStore } from '../../../src/lib/blobs/index.js';
import { HashedNgramEmbedder } from '../../../src/lib/embed/index.js';
import { RagService, type EmbedFn, type IngestedEvent } from '../../../src/lib/rag/index.js';
import { buildTinyPdf } from '../../support/tiny-pdf.js';
import { makeBus } from '../bus/harness.js';

const PAGES = [
  'Regenwasser sammeln und reinigen. Regenwasser durch ein sauberes Tuch filtern und danach mindestens eine Minute sprudelnd abkochen.',
  'Generator sicher betreiben. Einen Generator niemals in geschlossenen Räumen betreiben: Kohlenmonoxid ist tödlich.',
  'Erste Hilfe bei Unterkühlung. Die Person langsam aufwärmen, nasse Kleidung entfernen, warme Getränke geben.'
];

const hashed = new HashedNgramEmbedder();
const embed: EmbedFn = async (texts) => ({ model: hashed.model, vectors: await hashed.embed(texts, new AbortController().signal) });

async function setUp(saved: Map<string, unknown> = new Map()) {
  const t = makeBus();
  const blobs = await BlobStore.open(new MemoryChunkStore());
  const announced: IngestedEvent[] = [];
  const store = { loadAll: async () => Object.fromEntries(saved), save: async (name: string, snapshot: unknown) => void saved.set(name, JSON.parse(JSON.stringify(snapshot))) };
  const service = new RagService({
    register: (r) => t.bus.register(r),
    clock: t.time,
    selfId: 'node-self',
    blobs: { read: async (cid) => ((await blobs.has(cid)) ? blobs.readAll(cid) : null) },
    embed,
    store,
    announce: async (event) => {
      announced.push(event);
      return `event-${announced.length}`;
    }
  });
  await service.start();
  return { ...t, blobs, service, announced, saved };
}

const call = (t: Awaited<ReturnType<typeof setUp>>, capability: string, body: unknown) => t.bus.call(capability, '1.0', body) as Promise<Record<string, any>>;

describe('rag.* (contract §4.4–4.6)', () => {
  it('ingests a PDF blob by CID, finds the right page for a question, and lists the corpus', async () => {
    const t = await setUp();
    const manifest = await t.blobs.add(buildTinyPdf(PAGES));
    const ingested = await call(t, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: manifest.cid, title: 'Notfall-Handbuch', language: 'de' } });
    expect(ingested.output).toMatchObject({ doc_cid: manifest.cid, already_indexed: false });
    expect(ingested.output.chunks_indexed).toBeGreaterThanOrEqual(3);
    expect(ingested.meta.ingest_event_id).toBe('event-1');
    expect(t.announced).toEqual([{ corpus: 'notfall', doc_cid: manifest.cid, title: 'Notfall-Handbuch', chunks: ingested.output.chunks_indexed, embedding_model: 'hearth-hashed-ngrams-v1' }]);

    const answer = await call(t, 'rag.query', { params: { corpus: 'notfall' }, input: { query: 'Darf der Generator in die Garage?', k: 2 } });
    expect(answer.meta).toMatchObject({ corpus: 'notfall', mode: 'hybrid', embedding_model: 'hearth-hashed-ngrams-v1' });
    expect(answer.output.chunks[0].metadata).toMatchObject({ doc_cid: manifest.cid, doc_title: 'Notfall-Handbuch', page: 2 });
    expect(answer.output.chunks[0].text).toContain('Kohlenmonoxid');

    const listed = await call(t, 'rag.list_corpora', { params: {}, input: {} });
    expect(listed.output.corpora).toEqual([expect.objectContaining({ name: 'notfall', docs: 1, chunks: ingested.output.chunks_indexed, embedding_model: 'hearth-hashed-ngrams-v1' })]);
    // The corpus is advertised, so the router sends queries for it here.
    expect(t.bus.capabilities().find((c) => c.name === 'rag.query')?.params).toEqual({ corpora: ['notfall'] });
  });

  it('ingest is idempotent by CID: the same document again changes nothing and announces nothing', async () => {
    const t = await setUp();
    const manifest = await t.blobs.add(buildTinyPdf(PAGES));
    const body = { params: { corpus: 'notfall' }, input: { doc_cid: manifest.cid, title: 'Notfall-Handbuch' } };
    await call(t, 'rag.ingest', body);
    const again = await call(t, 'rag.ingest', body);
    expect(again.output.already_indexed).toBe(true);
    expect(t.announced).toHaveLength(1);
  });

  it('answers with the contract codes: unknown corpus, k out of range, unknown filter, a CID not in the blob store', async () => {
    const t = await setUp();
    await expect(call(t, 'rag.query', { params: { corpus: 'nirgends' }, input: { query: 'Wasser' } })).rejects.toMatchObject({ code: 'not_found' });
    const manifest = await t.blobs.add(new TextEncoder().encode('Wasser abkochen.'));
    await call(t, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: manifest.cid, title: 'kurz.txt' } });
    await expect(call(t, 'rag.query', { params: { corpus: 'notfall' }, input: { query: 'Wasser', k: 21 } })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(call(t, 'rag.query', { params: { corpus: 'notfall' }, input: { query: 'Wasser', filter: { since: 2000 } } })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('min_year')
    });
    await expect(call(t, 'rag.query', { params: { corpus: 'notfall' }, input: { query: 'Wasser', filter: { min_year: 'old' } } })).rejects.toMatchObject({ code: 'bad_request' });
    const absent = 'blake3:' + 'ab'.repeat(32);
    await expect(call(t, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: absent, title: 'x' } })).rejects.toMatchObject({ code: 'not_found' });
    await expect(call(t, 'rag.ingest', { params: { corpus: 'Not Valid' }, input: { doc_cid: manifest.cid, title: 'x' } })).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('keeps a document\'s metadata and filters by year (contract §4.4 min_year, §4.5 metadata)', async () => {
    const t = await setUp();
    const old = await t.blobs.add(new TextEncoder().encode('Wasser zehn Minuten abkochen, sagte man früher.'));
    const recent = await t.blobs.add(new TextEncoder().encode('Wasser eine Minute sprudelnd abkochen genügt.'));
    const undated = await t.blobs.add(new TextEncoder().encode('Wasser abkochen, dann abgedeckt abkühlen lassen.'));
    await call(t, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: old.cid, title: 'Alt', metadata: { author: 'Amt', year: 1985 } } });
    await call(t, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: recent.cid, title: 'Neu', metadata: { year: 2024 } } });
    await call(t, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: undated.cid, title: 'Ohne Jahr' } });
    const titles = async (filter?: Record<string, unknown>) =>
      (await call(t, 'rag.query', { params: { corpus: 'notfall' }, input: { query: 'Wasser abkochen', k: 10, ...(filter ? { filter } : {}) } })).output.chunks.map((c: { metadata: { doc_title: string } }) => c.metadata.doc_title).sort();
    expect(await titles()).toEqual(['Alt', 'Neu', 'Ohne Jahr']);
    expect(await titles({ min_year: 2000 })).toEqual(['Neu']);
    expect(await titles({ max_year: 2000 })).toEqual(['Alt']);
    for (const metadata of [[1], { Year: 2024 }, { year: 2024.5 }, { note: 'x'.repeat(201) }, Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i]))]) {
      await expect(call(t, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: undated.cid, title: 'x', metadata } })).rejects.toMatchObject({ code: 'bad_request' });
    }
  });

  it('an ingest whose snapshot could not be saved is undone, so the retry indexes, saves and announces it', async () => {
    const t = await setUp();
    const manifest = await t.blobs.add(buildTinyPdf(PAGES));
    const body = { params: { corpus: 'notfall' }, input: { doc_cid: manifest.cid, title: 'Notfall-Handbuch' } };
    const save = t.saved.set.bind(t.saved);
    let failNext = true;
    t.saved.set = (name, value) => {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      return save(name, value);
    };
    await expect(call(t, 'rag.ingest', body)).rejects.toMatchObject({ message: expect.stringContaining('disk full') });
    expect(t.announced).toHaveLength(0);
    const retried = await call(t, 'rag.ingest', body);
    expect(retried.output.already_indexed).toBe(false);
    expect(t.saved.has('notfall')).toBe(true);
    expect(t.announced).toHaveLength(1);
  });

  it('a corpus whose saved index is damaged is left untouched, and ingest into it says why', async () => {
    const t = await setUp(new Map([['notfall', { version: 99 }]]));
    const manifest = await t.blobs.add(new TextEncoder().encode('Wasser abkochen.'));
    await expect(call(t, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: manifest.cid, title: 'x.txt' } })).rejects.toMatchObject({
      message: expect.stringContaining('could not be read')
    });
    expect(t.saved.get('notfall')).toEqual({ version: 99 });
  });

  it('corpora survive a restart from their snapshots', async () => {
    const saved = new Map<string, unknown>();
    const first = await setUp(saved);
    const manifest = await first.blobs.add(buildTinyPdf(PAGES));
    await call(first, 'rag.ingest', { params: { corpus: 'notfall' }, input: { doc_cid: manifest.cid, title: 'Notfall-Handbuch' } });
    first.service.stop();

    const second = await setUp(saved);
    const answer = await call(second, 'rag.query', { params: { corpus: 'notfall' }, input: { query: 'Unterkühlung aufwärmen', k: 1 } });
    expect(answer.output.chunks[0].metadata.page).toBe(3);
  });
});

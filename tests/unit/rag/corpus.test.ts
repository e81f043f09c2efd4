import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import { Corpus, RAG_MAX_K, type DocumentInput, type EmbedFn } from '../../../src/lib/rag/index.js';
import { buildTinyPdf } from '../../support/tiny-pdf.js';
import { bytesOf, hashingEmbedder, PDF_PAGES, rejection } from './fixtures.js';

const pdfDoc: DocumentInput = { id: 'notfall-pdf', title: 'Notfallheft', mediaType: 'application/pdf', bytes: buildTinyPdf(PDF_PAGES), tags: ['Notfall'], language: 'de' };
const mdDoc: DocumentInput = {
  id: 'garten-md',
  title: 'Gartenwasser',
  mediaType: 'text/markdown',
  bytes: bytesOf('# Garten\n\nRegenwasser eignet sich zum Gießen der Beete.\n\n## Tonne\n\nDie Regentonne im Winter leeren.'),
  tags: ['garten'],
  language: 'de'
};
const txtDoc: DocumentInput = { id: 'radio-txt', title: 'Radio', mediaType: 'text/plain', bytes: bytesOf('Tune the hand-crank radio to the regional broadcaster.'), language: 'en' };

async function corpusOf(embed?: EmbedFn): Promise<Corpus> {
  const corpus = new Corpus();
  for (const doc of [pdfDoc, mdDoc, txtDoc]) await corpus.ingest(doc, embed);
  return corpus;
}

describe('Corpus ingest', () => {
  it('indexes the chunks of PDF, Markdown and plain text and lists the documents', async () => {
    const corpus = await corpusOf();
    expect(corpus.documents().map((d) => [d.id, d.mediaType, d.pages, d.chunks, d.tags])).toEqual([
      ['notfall-pdf', 'application/pdf', 3, 3, ['notfall']],
      ['garten-md', 'text/markdown', undefined, 2, ['garten']],
      ['radio-txt', 'text/plain', undefined, 1, []]
    ]);
    expect(corpus.stats()).toMatchObject({ documents: 3, chunks: 6, languageMajority: 'de' });
  });

  it('test_ingest_idempotent_on_doc_cid: a second ingest of the same id is a no-op', async () => {
    const corpus = new Corpus();
    const embed = hashingEmbedder();
    const first = await corpus.ingest(pdfDoc, embed);
    const second = await corpus.ingest({ ...pdfDoc, bytes: bytesOf('other') }, embed);
    expect(first.alreadyIndexed).toBe(false);
    expect(second).toEqual({ ...first, alreadyIndexed: true });
    expect(embed.calls).toBe(1);
    expect(corpus.stats().chunks).toBe(3);
  });

  it('is all-or-nothing: a failing embedder or extraction leaves the corpus unchanged', async () => {
    const corpus = await corpusOf();
    const before = JSON.stringify(corpus.snapshot());
    const broken: EmbedFn = async (texts) => ({ model: 'm', vectors: texts.slice(1).map(() => new Float32Array(4)) });
    expect((await rejection(corpus.ingest({ ...txtDoc, id: 'new' }, broken))).code).toBe('internal_error');
    expect((await rejection(corpus.ingest({ ...pdfDoc, id: 'bad', bytes: bytesOf('no pdf') }))).code).toBe('bad_request');
    expect(JSON.stringify(corpus.snapshot())).toBe(before);
  });

  it('a document embedded by another model (the node’s embedder changed) is indexed by its words, never mixed', async () => {
    const corpus = new Corpus();
    await corpus.ingest(pdfDoc, hashingEmbedder('model-a'));
    const result = await corpus.ingest(mdDoc, hashingEmbedder('model-b'));
    expect(result.alreadyIndexed).toBe(false);
    expect(corpus.documents().find((d) => d.id === 'garten-md')?.embedded).toBe(false);
    expect(corpus.embeddingModel).toBe('model-a');
    expect((await corpus.query('Kompost Garten', { embed: hashingEmbedder('model-a') })).chunks.map((c) => c.documentId)).toContain('garten-md');
  });

  it('removes a document and its chunks', async () => {
    const corpus = await corpusOf(hashingEmbedder());
    expect(corpus.remove('notfall-pdf')).toBe(true);
    expect(corpus.stats().chunks).toBe(3);
    expect((await corpus.query('Generator')).chunks).toEqual([]);
  });
});

describe('Corpus query', () => {
  it('is lexical without an embedder, with document, page, score and text', async () => {
    const corpus = await corpusOf();
    const result = await corpus.query('carbon monoxide generator');
    expect(result.mode).toBe('lexical');
    expect(result.chunks[0]).toMatchObject({ rank: 1, documentId: 'notfall-pdf', title: 'Notfallheft', page: 2, ranks: { lexical: 1 } });
    expect(result.chunks[0].text).toContain('carbon');
    expect(result.chunks[0].score).toBeGreaterThan(0);
  });

  it('is hybrid with an embedder, and the vector side finds inflected forms BM25 misses', async () => {
    const embed = hashingEmbedder();
    const corpus = await corpusOf(embed);
    expect((await corpus.query('Regentonnen', { k: 3 })).chunks).toEqual([]); // no exact term
    const result = await corpus.query('Regentonnen', { k: 3, embed });
    expect(result).toMatchObject({ mode: 'hybrid', embeddingModel: 'test-hash-512' });
    expect(result.chunks[0]).toMatchObject({ documentId: 'garten-md', section: 'Garten > Tonne', ranks: { vector: 1 } });
  });

  it('a query embedded by another model is answered by words alone, not refused', async () => {
    const corpus = await corpusOf(hashingEmbedder('model-a'));
    const result = await corpus.query('Regenwasser', { embed: hashingEmbedder('model-b') });
    expect(result.mode).toBe('lexical');
    expect(result.chunks.length).toBeGreaterThan(0);
  });

  it('falls back to lexical when nothing in the corpus is embedded', async () => {
    const corpus = await corpusOf();
    expect((await corpus.query('Regenwasser', { embed: hashingEmbedder() })).mode).toBe('lexical');
  });

  it('applies filters: document ids, media types, tags, language, page range', async () => {
    const embed = hashingEmbedder();
    const corpus = await corpusOf(embed);
    const ids = async (filter: object) => (await corpus.query('Regenwasser Wasser radio generator', { k: 10, filter, embed })).chunks.map((c) => c.chunkId).sort();
    expect(await ids({ documentIds: ['garten-md'] })).toEqual(['garten-md#0', 'garten-md#1']);
    expect(await ids({ mediaTypes: ['text/plain'] })).toEqual(['radio-txt#0']);
    expect(await ids({ tags: ['Notfall'] })).toEqual(['notfall-pdf#0', 'notfall-pdf#1', 'notfall-pdf#2']);
    expect(await ids({ language: 'en' })).toEqual(['radio-txt#0']);
    expect(await ids({ pages: { from: 2, to: 3 } })).toEqual(['notfall-pdf#1', 'notfall-pdf#2']);
    expect(await ids({ tags: ['notfall'], pages: { to: 1 } })).toEqual(['notfall-pdf#0']);
    expect((await rejection(corpus.query('x', { filter: { pages: { from: 3, to: 2 } } }))).code).toBe('bad_request');
  });

  it('rejects k outside 1..RAG_MAX_K with bad_request (CONTRACT §4.4)', async () => {
    const corpus = await corpusOf();
    for (const k of [0, RAG_MAX_K + 1, 2.5]) expect((await rejection(corpus.query('Wasser', { k }))).code).toBe('bad_request');
    expect((await corpus.query('Wasser', { k: RAG_MAX_K })).chunks.length).toBeGreaterThan(0);
  });
});

describe('Corpus snapshot', () => {
  it('round-trips through JSON: same documents, chunks, bit-exact vectors, same answers', async () => {
    const embed = hashingEmbedder();
    const corpus = await corpusOf(embed);
    const json = JSON.stringify(corpus.snapshot());
    const restored = Corpus.restore(JSON.parse(json));
    expect(JSON.stringify(restored.snapshot())).toBe(json);
    expect(restored.documents()).toEqual(corpus.documents());
    expect(restored.embeddingModel).toBe('test-hash-512');
    for (const q of ['Regenwasser abkochen', 'generator garage', 'Blutung']) {
      expect(await restored.query(q, { embed })).toEqual(await corpus.query(q, { embed }));
      expect(await restored.query(q)).toEqual(await corpus.query(q));
    }
    await restored.ingest({ ...txtDoc, id: 'after-restore' }, embed);
    expect(restored.has('after-restore')).toBe(true);
  });

  it('refuses something that is not a snapshot', () => {
    expect(() => Corpus.restore({ version: 99 })).toThrow(HearthError);
    expect(() => Corpus.restore(null)).toThrow(HearthError);
  });
});

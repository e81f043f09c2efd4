/**
 * A corpus keeps the model it was first embedded with (rag/corpus.ts): later ingests and queries ask for that model,
 * a new corpus takes the node's preferred model, and a corpus whose model left the node answers lexically. Run through
 * rag.* on a real bus with a real EmbedService; the "better model" is the hashed model at 512 dimensions, a genuinely
 * different model (other name, other vectors).
 */
import { describe, expect, it } from 'vitest';
import { BlobStore, MemoryChunkStore } from '../../../src/lib/blobs/index.js';
import { EmbedService, HASHED_NGRAMS_MODEL, HashedNgramEmbedder } from '../../../src/lib/embed/index.js';
import { Corpus, RagService, type EmbedFn, type IngestedEvent } from '../../../src/lib/rag/index.js';
import { makeBus } from '../bus/harness.js';
import { bytesOf, hashingEmbedder } from './fixtures.js';

const BETTER = `${HASHED_NGRAMS_MODEL}-512`;
const DOCS = {
  water: 'Regenwasser durch ein Tuch filtern und danach mindestens eine Minute sprudelnd abkochen.',
  generator: 'Einen Generator niemals in geschlossenen Räumen betreiben: Kohlenmonoxid ist tödlich.',
  cold: 'Bei Unterkühlung die Person langsam aufwärmen und nasse Kleidung entfernen.'
};

async function setUp() {
  const t = makeBus();
  const embed = new EmbedService({ register: (r) => t.bus.register(r), clock: t.time, selfId: 'node-self' });
  await embed.start();
  const asked: (string | undefined)[] = [];
  const embedFn: EmbedFn = (texts, model) => {
    asked.push(model);
    return embed.embedLocal(texts, model ?? embed.preferredModel);
  };
  const blobs = await BlobStore.open(new MemoryChunkStore());
  const announced: IngestedEvent[] = [];
  const rag = new RagService({
    register: (r) => t.bus.register(r),
    clock: t.time,
    selfId: 'node-self',
    blobs: { read: async (cid) => ((await blobs.has(cid)) ? blobs.readAll(cid) : null) },
    embed: embedFn,
    announce: async (event) => {
      announced.push(event);
      return null;
    }
  });
  await rag.start();
  const ingest = async (corpus: string, text: string) => {
    const { cid } = await blobs.add(bytesOf(text));
    await t.bus.call('rag.ingest', '1.0', { params: { corpus }, input: { doc_cid: cid, title: `${text.slice(0, 12)}.txt` } });
    return announced.at(-1)!;
  };
  const query = (corpus: string, text: string) => t.bus.call('rag.query', '1.0', { params: { corpus }, input: { query: text, k: 1 } }) as Promise<{ output: { chunks: { text: string }[] }; meta: { mode: string; embedding_model?: string } }>;
  return { embed, asked, ingest, query };
}

describe('each corpus keeps its embedding model', () => {
  it('old corpora stay with their model when a better one loads; new corpora take the preferred one', async () => {
    const { embed, asked, ingest, query } = await setUp();
    expect((await ingest('alt', DOCS.water)).embedding_model).toBe(HASHED_NGRAMS_MODEL);
    expect(asked).toEqual([undefined]); // a new corpus: the node chooses

    await embed.add(new HashedNgramEmbedder({ dimensions: 512 }));
    expect(embed.preferredModel).toBe(BETTER);
    // The old corpus: queried and extended with the model it was built with, still hybrid.
    expect((await query('alt', 'Wasser abkochen')).meta).toMatchObject({ mode: 'hybrid', embedding_model: HASHED_NGRAMS_MODEL });
    expect((await ingest('alt', DOCS.generator)).embedding_model).toBe(HASHED_NGRAMS_MODEL);
    expect(asked.slice(1)).toEqual([HASHED_NGRAMS_MODEL, HASHED_NGRAMS_MODEL]);
    // A new corpus: the preferred model.
    expect((await ingest('neu', DOCS.cold)).embedding_model).toBe(BETTER);
    expect((await query('neu', 'Unterkühlung')).meta).toMatchObject({ mode: 'hybrid', embedding_model: BETTER });
  });

  it('a corpus whose model left the node answers by its words, and indexes new documents by their words', async () => {
    const { embed, ingest, query } = await setUp();
    await embed.add(new HashedNgramEmbedder({ dimensions: 512 }));
    await ingest('neu', DOCS.water);
    embed.remove(BETTER);

    const answer = await query('neu', 'Regenwasser abkochen');
    expect(answer.meta.mode).toBe('lexical');
    expect(answer.output.chunks[0].text).toContain('Regenwasser');
    // Indexed by its words, found by them; the corpus's model stays what its vectors are.
    expect((await ingest('neu', DOCS.generator)).embedding_model).toBe(BETTER);
    expect((await query('neu', 'Generator Kohlenmonoxid')).output.chunks[0].text).toContain('Generator');
    // And when the model comes back, the corpus is hybrid again.
    await embed.add(new HashedNgramEmbedder({ dimensions: 512 }));
    expect((await query('neu', 'Regenwasser abkochen')).meta.mode).toBe('hybrid');
  });

  it('Corpus asks its EmbedFn for its own model; other failures of the embedder still fail the query', async () => {
    const corpus = new Corpus();
    await corpus.ingest({ id: 'd', title: 'd', mediaType: 'text/plain', bytes: bytesOf(DOCS.water) }, hashingEmbedder('model-a'));
    const models: (string | undefined)[] = [];
    const spy: EmbedFn = (texts, model) => {
      models.push(model);
      return hashingEmbedder('model-a')(texts);
    };
    expect((await corpus.query('Wasser', { embed: spy })).mode).toBe('hybrid');
    await corpus.ingest({ id: 'e', title: 'e', mediaType: 'text/plain', bytes: bytesOf(DOCS.cold) }, spy);
    expect(models).toEqual(['model-a', 'model-a']);
    const crashed: EmbedFn = async () => {
      throw new Error('the model worker stopped');
    };
    await expect(corpus.query('Wasser', { embed: crashed })).rejects.toThrow('the model worker stopped');
  });
});

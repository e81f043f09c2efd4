/**
 * A small labelled retrieval set (20 passages, 12 questions, German and English): recall@5 for lexical-only and for
 * hybrid with the hashing test embedder. The figures are printed; the assertions are floors, not targets.
 */
import { describe, expect, it } from 'vitest';
import { HashedNgramEmbedder } from '../../../src/lib/embed/index.js';
import { Corpus, type EmbedFn } from '../../../src/lib/rag/index.js';
import { bytesOf, hashingEmbedder, PASSAGES, QUESTIONS } from './fixtures.js';

const K = 5;

async function recallAt5(corpus: Corpus, embed?: EmbedFn): Promise<{ recall: number; misses: string[] }> {
  let sum = 0;
  const misses: string[] = [];
  for (const { question, relevant } of QUESTIONS) {
    const found = new Set((await corpus.query(question, { k: K, embed })).chunks.map((c) => c.documentId));
    const hit = relevant.filter((id) => found.has(id)).length;
    sum += hit / relevant.length;
    if (hit < relevant.length) misses.push(question);
  }
  return { recall: sum / QUESTIONS.length, misses };
}

describe('retrieval quality on the labelled set', () => {
  it('reports recall@5, lexical and hybrid', async () => {
    const embed = hashingEmbedder();
    const corpus = new Corpus();
    for (const p of PASSAGES) await corpus.ingest({ id: p.id, title: p.id, mediaType: 'text/plain', bytes: bytesOf(p.text), language: p.language }, embed);
    const lexical = await recallAt5(corpus);
    const hybrid = await recallAt5(corpus, embed);
    console.log(`recall@5 (${PASSAGES.length} passages, ${QUESTIONS.length} questions): lexical ${lexical.recall.toFixed(3)}, hybrid ${hybrid.recall.toFixed(3)}`);
    console.log(`  lexical misses: ${JSON.stringify(lexical.misses)}\n  hybrid misses: ${JSON.stringify(hybrid.misses)}`);
    expect(lexical.recall).toBeGreaterThanOrEqual(0.6);
    expect(hybrid.recall).toBeGreaterThanOrEqual(lexical.recall);
  });

  it("with the product's zero-download embedder (hearth-hashed-ngrams-v1) hybrid beats lexical", async () => {
    const embedder = new HashedNgramEmbedder();
    const embed: EmbedFn = async (texts) => ({ model: embedder.model, vectors: await embedder.embed(texts, new AbortController().signal) });
    const corpus = new Corpus();
    for (const p of PASSAGES) await corpus.ingest({ id: p.id, title: p.id, mediaType: 'text/plain', bytes: bytesOf(p.text), language: p.language }, embed);
    const lexical = await recallAt5(corpus);
    const hybrid = await recallAt5(corpus, embed);
    console.log(`recall@5 with hearth-hashed-ngrams-v1: lexical ${lexical.recall.toFixed(3)}, hybrid ${hybrid.recall.toFixed(3)}; hybrid misses: ${JSON.stringify(hybrid.misses)}`);
    expect(hybrid.recall).toBeGreaterThan(lexical.recall);
  });
});

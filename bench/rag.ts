/**
 * Retrieval (issue 6 §7): ingest pages/s of a hand-built 200-page PDF (extraction + chunking + BM25, and with the
 * hashing test embedder), and query latency p50/p95 on a 1 000-chunk corpus, lexical vs hybrid, against a raw
 * BM25 loop over pre-tokenised chunks in the same run (the floor: no postings, no filters, no result shaping).
 * Run: `npx tsx bench/rag.ts`.
 */
import { tokenise } from '../src/lib/market/search.js';
import { BM25_B, BM25_K1, Corpus, bm25Idf } from '../src/lib/rag/index.js';
import { buildTinyPdf } from '../tests/support/tiny-pdf.js';
import { bytesOf, hashingEmbedder, PASSAGES, QUESTIONS } from '../tests/unit/rag/fixtures.js';
import { printTable } from './table.js';

const PDF_PAGE_COUNT = 200;
const CHUNK_COUNT = 1000;
const QUERY_ROUNDS = 300;
const INGEST_ROUNDS = 3;

/** A deterministic generator (mulberry32), so every run builds the same corpus. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(6);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
const passageText = (n: number) => Array.from({ length: n }, () => pick(PASSAGES).text).join(' ');

const pages = Array.from({ length: PDF_PAGE_COUNT }, (_, i) => `Seite ${i + 1}\n\n${passageText(3)}\n\n${passageText(3)}`);
const pdf = buildTinyPdf(pages);
const embed = hashingEmbedder();

async function ingestPagesPerSecond(withEmbedder: boolean): Promise<number> {
  let best = 0;
  for (let round = 0; round < INGEST_ROUNDS; round++) {
    const corpus = new Corpus();
    const started = performance.now();
    await corpus.ingest({ id: `pdf-${round}`, title: 'bench', mediaType: 'application/pdf', bytes: pdf }, withEmbedder ? embed : undefined);
    best = Math.max(best, PDF_PAGE_COUNT / ((performance.now() - started) / 1000));
  }
  return best;
}

const ingestLexical = await ingestPagesPerSecond(false);
const ingestHybrid = await ingestPagesPerSecond(true);

const texts = Array.from({ length: CHUNK_COUNT }, () => passageText(2));
const corpus = new Corpus();
for (const [i, text] of texts.entries()) await corpus.ingest({ id: `c${i}`, title: `c${i}`, mediaType: 'text/plain', bytes: bytesOf(text) }, embed);
if (corpus.stats().chunks !== CHUNK_COUNT) throw new Error(`expected ${CHUNK_COUNT} chunks, got ${corpus.stats().chunks}`);

// The raw loop: BM25 by brute force over token arrays, with document frequencies precomputed.
const tokenised = texts.map((t) => tokenise(t));
const averageLength = tokenised.reduce((s, t) => s + t.length, 0) / tokenised.length;
const documentFrequency = new Map<string, number>();
for (const tokens of tokenised) for (const term of new Set(tokens)) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
function rawBm25(query: string, k: number): number[] {
  const terms = [...new Set(tokenise(query))];
  const scores = new Float64Array(tokenised.length);
  for (const [d, tokens] of tokenised.entries()) {
    for (const term of terms) {
      let tf = 0;
      for (const token of tokens) if (token === term) tf++;
      if (tf === 0) continue;
      const idf = bm25Idf(tokenised.length, documentFrequency.get(term) ?? 0);
      scores[d] += (idf * tf * (BM25_K1 + 1)) / (tf + BM25_K1 * (1 - BM25_B + (BM25_B * tokens.length) / averageLength));
    }
  }
  return [...scores.keys()].sort((a, b) => scores[b] - scores[a]).slice(0, k);
}

async function latencies(run: (q: string) => unknown): Promise<{ p50: number; p95: number }> {
  const samples: number[] = [];
  for (let i = 0; i < QUERY_ROUNDS; i++) {
    const q = QUESTIONS[i % QUESTIONS.length].question;
    const started = performance.now();
    await run(q);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length * 0.5)], p95: samples[Math.floor(samples.length * 0.95)] };
}

await latencies((q) => corpus.query(q)); // warm-up
const raw = await latencies((q) => rawBm25(q, 5));
const lexical = await latencies((q) => corpus.query(q, { k: 5 }));
const hybrid = await latencies((q) => corpus.query(q, { k: 5, embed }));
const embedOnly = await latencies((q) => embed([q]));

printTable(`RAG ingest (${PDF_PAGE_COUNT}-page built PDF, best of ${INGEST_ROUNDS})`, ['pipeline', 'pages/s'], [
  ['extract + chunk + BM25', ingestLexical],
  ['… + hashing embedder + vectors', ingestHybrid]
]);
const row = (name: string, l: { p50: number; p95: number }) => [name, l.p50.toFixed(3), l.p95.toFixed(3), `${(l.p50 / raw.p50).toFixed(2)}×`];
printTable(`RAG query latency (${CHUNK_COUNT} chunks, ${QUERY_ROUNDS} queries, k = 5)`, ['path', 'p50 ms', 'p95 ms', 'p50 vs raw BM25'], [
  row('raw BM25 loop (floor)', raw),
  row('Corpus.query lexical', lexical),
  row('Corpus.query hybrid', hybrid),
  row('  of which: embed the query', embedOnly)
]);

/**
 * The zero-download embedder (`hearth-hashed-ngrams-v1`) on 1 000 passages, against the raw primitive it is built on
 * in the same run: the folding + word split alone (what any lexical search pays). Prints texts/s, MB/s (UTF-8 input)
 * and the ratio. Run: `npx tsx bench/embed.ts`.
 */
import { HashedNgramEmbedder, hashedNgramWords } from '../src/lib/embed/hashed-ngrams.js';
import { PASSAGES } from '../tests/unit/embed/retrieval-set.js';
import { printTable } from './table.js';

const PASSAGE_COUNT = 1_000;
const ROUNDS = 7;

/** 1 000 passages of 2–5 sentences drawn from the labelled set by a fixed LCG: realistic German/English text. */
function passages(): string[] {
  let seed = 42;
  const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  return Array.from({ length: PASSAGE_COUNT }, () => {
    const sentences = 2 + (next() % 4);
    return Array.from({ length: sentences }, () => PASSAGES[next() % PASSAGES.length].text).join(' ');
  });
}

function median(run: () => void): number {
  run(); // warm-up: JIT
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

const texts = passages();
const megabytes = texts.reduce((n, t) => n + new TextEncoder().encode(t).length, 0) / 1e6;
const embedder = new HashedNgramEmbedder();
const signal = new AbortController().signal;

let words = 0;
const tokeniseMs = median(() => {
  words = 0;
  for (const text of texts) words += hashedNgramWords(text).length;
});
let vectors = 0;
const embedMs = await (async () => {
  await embedder.embed(texts, signal);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    vectors = (await embedder.embed(texts, signal)).length;
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
})();

const row = (name: string, ms: number) => [name, ms, (PASSAGE_COUNT / ms) * 1000, (megabytes / ms) * 1000, ms / tokeniseMs];
printTable(
  `Embedding ${PASSAGE_COUNT} passages (${megabytes.toFixed(2)} MB UTF-8, ${words} words; median of ${ROUNDS}; ${vectors} vectors of ${embedder.dimensions})`,
  ['what', 'ms', 'texts/s', 'MB/s', '× tokenise time'],
  [row('fold + split words only (raw)', tokeniseMs), row(`${embedder.model} (embed)`, embedMs)]
);

/**
 * The zero-download embedding model, `hearth-hashed-ngrams-v1` (DESIGN §4): real lexical retrieval with no weights
 * and no corpus, the same vector for the same text on every node and in every runtime.
 *
 * Text → NFKC → the market's folding and word split (lowercase, ä→ae ö→oe ü→ue ß→ss, accents dropped, German and
 * English stop words left out) → three kinds of feature, each hashed into signed buckets ("feature hashing"):
 * - word unigrams (what a passage is about),
 * - word bigrams (a little word order: "boil water" vs "water boil" differ slightly),
 * - character 3–5-grams of each word with `<` `>` at its edges (typos, inflections and German compounds still
 *   share most of their grams: "abkohen" ~ "abkochen", "Wasserkanister" ~ "Kanister").
 *
 * Each feature's weight is sublinear in its count (1 + ln tf). There is no IDF: an IDF needs corpus statistics,
 * which differ between nodes, and vectors must stay comparable across the mesh. Stop words are its fixed stand-in.
 * Each kind is scaled to a fixed share of the vector (its weights' L2 norm → the kind's weight), so a long word
 * with many character grams does not drown the words, then the whole vector is L2-normalised.
 *
 * The hash is FNV-1a (32 bit) over the UTF-16 code units (low byte, then high byte) with a different offset basis per
 * feature kind, then murmur3's 32-bit finaliser: its low bits pick the bucket, its top bit the sign. The hashing is
 * integer arithmetic only (Math.imul, >>>), so every engine picks the same buckets; the weights use Math.log and
 * Math.sqrt, which the language lets engines round differently in the last bit, so vectors from two engines may differ
 * by about 1e-16 per component — far below anything that changes a ranking. Text folding and word splitting come from
 * market/search.ts: a change there changes these vectors too (the pinned checksums in the tests catch it).
 * Changing anything that alters a vector needs a new model name (…-v2): old vectors would silently stop matching.
 */
import { tokenise } from '../market/search.js';
import type { Embedder } from './embedder.js';

export const HASHED_NGRAMS_MODEL = 'hearth-hashed-ngrams-v1';
/** 1024, not 512: on the labelled test set, bucket collisions at 512 cost recall@1 0.98 → 0.91. */
export const HASHED_NGRAMS_DIMENSIONS = 1024;
/** Pure CPU work of a few microseconds a text; batches only bound how long one call holds the thread. */
export const HASHED_NGRAMS_MAX_BATCH = 64;

const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const CHAR_WEIGHT = 1;
const MIN_CHAR_GRAM = 3;
const MAX_CHAR_GRAM = 5;

const FNV_PRIME = 0x01000193;
/** FNV-1a's offset basis, and two more (arbitrary, fixed) so the kinds of feature hash apart. */
const WORD_BASIS = 0x811c9dc5;
const BIGRAM_BASIS = 0x2b0f6a1d;
const CHAR_BASIS = 0x5bd1e995;
/** Separates the two words of a bigram inside its hash (a code unit no folded word contains). */
const BIGRAM_SEPARATOR = 0x20;

function fnvStep(hash: number, codeUnit: number): number {
  hash = Math.imul(hash ^ (codeUnit & 0xff), FNV_PRIME);
  return Math.imul(hash ^ (codeUnit >>> 8), FNV_PRIME);
}

function fnvOf(basis: number, text: string): number {
  let hash = basis;
  for (let i = 0; i < text.length; i++) hash = fnvStep(hash, text.charCodeAt(i));
  return hash >>> 0;
}

/** murmur3's fmix32: spreads FNV's weak low bits over the whole word. */
function mix(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

function count(counts: Map<number, number>, hash: number): void {
  counts.set(hash, (counts.get(hash) ?? 0) + 1);
}

/** The words the model sees: NFKC first, so "ﬁ", full-width letters and decomposed umlauts fold like the rest. */
export function hashedNgramWords(text: string): string[] {
  return tokenise(text.normalize('NFKC'));
}

/** Adds one kind of feature into `vector`, scaled so its weights have L2 norm `share`. */
function addKind(vector: Float64Array, counts: Map<number, number>, share: number): void {
  if (counts.size === 0) return;
  let squares = 0;
  for (const n of counts.values()) squares += (1 + Math.log(n)) ** 2;
  const scale = share / Math.sqrt(squares);
  const mask = vector.length - 1;
  for (const [hash, n] of counts) {
    const mixed = mix(hash);
    const weight = (1 + Math.log(n)) * scale;
    vector[mixed & mask] += mixed & 0x80000000 ? -weight : weight;
  }
}

/** One text's vector (unit length, or zero when the text has no words). */
export function hashedNgramVector(text: string, dimensions = HASHED_NGRAMS_DIMENSIONS): Float32Array {
  const words = hashedNgramWords(text);
  const unigrams = new Map<number, number>();
  const bigrams = new Map<number, number>();
  const grams = new Map<number, number>();
  let previous: string | null = null;
  for (const word of words) {
    count(unigrams, fnvOf(WORD_BASIS, word));
    if (previous !== null) {
      let hash = fnvStep(fnvOf(BIGRAM_BASIS, previous), BIGRAM_SEPARATOR);
      for (let i = 0; i < word.length; i++) hash = fnvStep(hash, word.charCodeAt(i));
      count(bigrams, hash >>> 0);
    }
    previous = word;
    const padded = `<${word}>`;
    for (let start = 0; start + MIN_CHAR_GRAM <= padded.length; start++) {
      let hash = CHAR_BASIS;
      for (let end = start; end < start + MAX_CHAR_GRAM && end < padded.length; end++) {
        hash = fnvStep(hash, padded.charCodeAt(end));
        if (end - start + 1 >= MIN_CHAR_GRAM) count(grams, hash >>> 0);
      }
    }
  }
  // Accumulated in float64, stored as float32 once: the same sums in the same order everywhere.
  const sums = new Float64Array(dimensions);
  addKind(sums, unigrams, WORD_WEIGHT);
  addKind(sums, bigrams, BIGRAM_WEIGHT);
  addKind(sums, grams, CHAR_WEIGHT);
  let squares = 0;
  for (let i = 0; i < dimensions; i++) squares += sums[i] * sums[i];
  const vector = new Float32Array(dimensions);
  if (squares === 0) return vector;
  const norm = Math.sqrt(squares);
  for (let i = 0; i < dimensions; i++) vector[i] = sums[i] / norm;
  return vector;
}

export interface HashedNgramEmbedderOptions {
  /** A power of two (default 1024). Another size is another model: it is named `<model>-<dimensions>`. */
  dimensions?: number;
}

export class HashedNgramEmbedder implements Embedder {
  readonly id = 'hashed';
  readonly model: string;
  readonly dimensions: number;
  readonly maxBatch = HASHED_NGRAMS_MAX_BATCH;

  constructor(options: HashedNgramEmbedderOptions = {}) {
    const dimensions = options.dimensions ?? HASHED_NGRAMS_DIMENSIONS;
    if (!Number.isInteger(dimensions) || dimensions < 16 || dimensions > 65536 || (dimensions & (dimensions - 1)) !== 0) {
      throw new RangeError(`dimensions must be a power of two from 16 to 65536, not ${dimensions}`);
    }
    this.dimensions = dimensions;
    this.model = dimensions === HASHED_NGRAMS_DIMENSIONS ? HASHED_NGRAMS_MODEL : `${HASHED_NGRAMS_MODEL}-${dimensions}`;
  }

  async embed(texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (const text of texts) {
      signal.throwIfAborted();
      vectors.push(hashedNgramVector(text, this.dimensions));
    }
    return vectors;
  }
}

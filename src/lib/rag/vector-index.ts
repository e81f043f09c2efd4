/**
 * A flat vector index for one embedding model: vectors are normalised on the way in, so cosine similarity is a
 * dot product, and every query is a full scan. Flat is honest for neighbourhood corpora (thousands of chunks);
 * an approximate index can replace it behind the same methods. Vectors of another model, or of another dimension,
 * are refused: their similarities would be meaningless (DESIGN §4).
 */
import { HearthError } from '../core/errors.js';
import { topScored, type Scored, type SearchOptions } from './bm25.js';

export class VectorIndex {
  readonly model: string;
  #dimension: number | undefined;
  readonly #vectors = new Map<string, Float32Array>();

  constructor(model: string, dimension?: number) {
    if (!model) throw new HearthError('bad_request', 'a vector index needs an embedding model name');
    this.model = model;
    this.#dimension = dimension;
  }

  get dimension(): number | undefined {
    return this.#dimension;
  }

  get size(): number {
    return this.#vectors.size;
  }

  has(id: string): boolean {
    return this.#vectors.has(id);
  }

  get(id: string): Float32Array | undefined {
    return this.#vectors.get(id);
  }

  /** Throws unless `vector` of `model` could be added or searched with: same model, same dimension, finite, non-zero. */
  check(model: string, vector: Float32Array): void {
    if (model !== this.model) {
      throw new HearthError('bad_request', `embedding model "${model}" does not match this index's model "${this.model}"; re-index to switch models`, {
        extra: { reason: 'embedding_model_mismatch' }
      });
    }
    if (this.#dimension !== undefined && vector.length !== this.#dimension) {
      throw new HearthError('bad_request', `vector has ${vector.length} dimensions, the index has ${this.#dimension}`, {
        extra: { reason: 'embedding_dimension_mismatch' }
      });
    }
    if (vector.length === 0 || !vector.every(Number.isFinite)) throw new HearthError('bad_request', 'vector must be non-empty and finite');
  }

  add(id: string, vector: Float32Array, model: string): void {
    this.check(model, vector);
    this.#dimension ??= vector.length;
    this.#vectors.set(id, normalised(vector));
  }

  remove(id: string): void {
    this.#vectors.delete(id);
  }

  /** Cosine similarity, highest first; a zero query vector matches nothing. */
  search(vector: Float32Array, model: string, options: SearchOptions = {}): Scored[] {
    this.check(model, vector);
    const query = normalised(vector);
    const scores = new Map<string, number>();
    if (!query.some((x) => x !== 0)) return [];
    for (const [id, stored] of this.#vectors) {
      if (options.accept && !options.accept(id)) continue;
      let dot = 0;
      for (let i = 0; i < query.length; i++) dot += query[i] * stored[i];
      scores.set(id, dot);
    }
    return topScored(scores, options.limit);
  }
}

/** A unit-length copy (a zero vector stays zero). */
export function normalised(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(vector.length);
  if (norm > 0) for (let i = 0; i < vector.length; i++) out[i] = vector[i] / norm;
  return out;
}

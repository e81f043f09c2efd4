/**
 * The embedder port (M11): one interface in front of every way this node turns text into vectors — the zero-download
 * hashed n-gram model, transformers.js, later others. `embed.text` knows only this port.
 *
 * A vector means something only next to vectors of the same model (DESIGN §4): every vector travels with `model`,
 * and an index holds one model's vectors only.
 */

export interface Embedder {
  /** Stable and human-readable, e.g. `hashed` or `transformers:Xenova/all-MiniLM-L6-v2`. */
  readonly id: string;
  /** The canonical model name that travels with every vector this embedder makes. */
  readonly model: string;
  /** Length of every vector (known once `load()` has finished, for embedders that load). */
  readonly dimensions: number;
  /** Texts per `embed` call; the service splits larger requests. */
  readonly maxBatch: number;
  /** Reads weights or files, once; embedders that need nothing leave it out. */
  load?(): Promise<void>;
  /**
   * Unit-length (L2) vectors, one per text, in order. A text with nothing to embed (e.g. only punctuation for a
   * lexical model) gives the zero vector. Errors are HearthErrors with contract codes.
   */
  embed(texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]>;
}

/** Scales `vector` to unit length in place (the zero vector stays zero) and returns it. */
export function normaliseInPlace(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] *= scale;
  return vector;
}

/** Dot product; for unit vectors, the cosine similarity. */
export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`vectors of ${a.length} and ${b.length} dimensions cannot be compared`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/**
 * Choosing the next token from a model's logits: greedy at temperature 0, otherwise temperature → top-p nucleus →
 * one draw from a seeded generator. Done here rather than by transformers.js because its sampler draws from a
 * process-wide Math-style generator (not seedable per call) and does not implement top-p (v4.3: "TODO").
 * Pure functions; the only state is the generator passed in.
 */

/** Uniform in [0, 1). */
export type RandomSource = () => number;

/**
 * A small, fast generator (splitmix32 seeding → mulberry32). Not cryptographic; sampling only needs the same
 * seed to give the same draws on every platform. Any safe integer is a valid seed (both 32-bit halves count).
 */
export function seededRandom(seed: number): RandomSource {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`the seed must be a safe integer, got ${seed}`);
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  let state = mix32(low ^ mix32(high + 0x9e3779b9));
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seed from the platform's entropy, for calls that give none. */
export function entropySeed(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1];
}

export interface PickedToken {
  index: number;
  /** The model's own log-probability of this token (softmax of the logits as given, before temperature/top-p). */
  logprob: number;
}

/** log Σ exp(logits), stable. */
function logSumExp(logits: Float32Array, max: number): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Picks a token. `temperature` 0 → the most likely (ties: the lowest id); otherwise a draw from
 * softmax(logits / temperature) restricted to the smallest set of most likely tokens whose mass reaches `topP`.
 * Cost O(V) plus a sort of the nucleus candidates only (found by bucketing probabilities by powers of two).
 */
export function pickToken(logits: Float32Array, temperature: number, topP: number, random: RandomSource): PickedToken {
  if (logits.length === 0) throw new RangeError('no logits to choose from');
  const best = argmax(logits);
  const max = logits[best];
  const logprobOf = (index: number) => logits[index] - logSumExp(logits, max);
  if (temperature <= 0 || !Number.isFinite(max)) return { index: best, logprob: logprobOf(best) };

  // Unnormalised probabilities under the temperature; the best token has weight 1.
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    weights[i] = Math.exp((logits[i] - max) / temperature);
    total += weights[i];
  }
  const candidates = topP >= 1 ? null : nucleus(weights, total, topP);
  let draw = random() * (candidates ? candidates.mass : total);
  if (candidates) {
    for (const index of candidates.indices) {
      draw -= weights[index];
      if (draw < 0) return { index, logprob: logprobOf(index) };
    }
    const last = candidates.indices[candidates.indices.length - 1];
    return { index: last, logprob: logprobOf(last) };
  }
  let last = best;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] === 0) continue;
    last = i;
    draw -= weights[i];
    if (draw < 0) return { index: i, logprob: logprobOf(i) };
  }
  return { index: last, logprob: logprobOf(last) }; // rounding left a sliver of `draw`
}

/** Most likely first, just enough of them to reach `topP` of `total` (always at least one). */
function nucleus(weights: Float64Array, total: number, topP: number): { indices: number[]; mass: number } {
  // Bucket b holds weights in (2^-(b+1), 2^-b]; the max weight is 1. Sorting only buckets up to the one where the
  // mass reaches topP is exact: every token of the nucleus is at least as likely as any token left out.
  const BUCKETS = 64;
  const bucketMass = new Float64Array(BUCKETS + 1);
  const bucketOf = (w: number) => (w <= 0 ? BUCKETS : Math.min(BUCKETS, Math.floor(-Math.log2(w))));
  for (let i = 0; i < weights.length; i++) bucketMass[bucketOf(weights[i])] += weights[i];
  let limit = 0;
  for (let mass = bucketMass[0]; mass < topP * total && limit < BUCKETS; ) mass += bucketMass[++limit];
  const indices: number[] = [];
  for (let i = 0; i < weights.length; i++) if (weights[i] > 0 && bucketOf(weights[i]) <= limit) indices.push(i);
  indices.sort((a, b) => weights[b] - weights[a] || a - b);
  let mass = 0;
  let keep = 0;
  while (keep < indices.length && mass < topP * total) mass += weights[indices[keep++]];
  indices.length = Math.max(1, keep);
  return { indices, mass: Math.max(mass, weights[indices[0]]) };
}

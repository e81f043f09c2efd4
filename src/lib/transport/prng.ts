/**
 * Seeded pseudo-random numbers for simulations: the same seed gives the same delays, drops and reorderings on
 * every run. Not for keys or nonces.
 */
export type Rng = () => number;

/** mulberry32: 32 bits of state, fast, and good enough to scatter network delays. Returns [0, 1). */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes a seed with labels (FNV-1a) so each link of a simulated network gets its own independent stream. */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (const ch of labels.join('/')) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

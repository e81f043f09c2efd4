/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009): score(d) = Σ 1 / (RRF_K + rank_i(d)), rank from 1.
 * It needs no score calibration between BM25 (unbounded) and cosine (−1..1), which is why it is used here rather
 * than a weighted sum (M05 leaves the hybrid scheme open, §10.4).
 */
import { RRF_K } from './constants.js';
import { topScored, type Scored } from './bm25.js';

export function reciprocalRankFusion(rankings: readonly (readonly Scored[])[], k: number = RRF_K): Scored[] {
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.forEach(({ id }, i) => scores.set(id, (scores.get(id) ?? 0) + 1 / (k + i + 1)));
  }
  return topScored(scores);
}

/**
 * Okapi BM25 over chunk texts. Tokens come from the market's folding tokeniser (lower case, ä→ae, ß→ss, accents
 * dropped, a few German and English stop words removed), so "Müll" finds "Muell" and both languages share one
 * index. Postings are kept per term, so a query touches only the chunks that share a term with it.
 */
import { tokenise } from '../market/search.js';
import { BM25_B, BM25_K1 } from './constants.js';

export interface Scored {
  id: string;
  score: number;
}

export interface SearchOptions {
  /** At most this many results; all matches when absent. */
  limit?: number;
  /** Only ids this accepts are scored (metadata filters). */
  accept?: (id: string) => boolean;
}

export class Bm25Index {
  readonly #postings = new Map<string, Map<string, number>>();
  readonly #lengths = new Map<string, number>();
  readonly #terms = new Map<string, string[]>();
  #totalLength = 0;

  get size(): number {
    return this.#lengths.size;
  }

  add(id: string, text: string): void {
    if (this.#lengths.has(id)) this.remove(id);
    const tokens = tokenise(text);
    const counts = new Map<string, number>();
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    for (const [term, count] of counts) {
      let posting = this.#postings.get(term);
      if (!posting) this.#postings.set(term, (posting = new Map()));
      posting.set(id, count);
    }
    this.#lengths.set(id, tokens.length);
    this.#terms.set(id, [...counts.keys()]);
    this.#totalLength += tokens.length;
  }

  remove(id: string): void {
    const length = this.#lengths.get(id);
    if (length === undefined) return;
    for (const term of this.#terms.get(id) ?? []) {
      const posting = this.#postings.get(term);
      posting?.delete(id);
      if (posting?.size === 0) this.#postings.delete(term);
    }
    this.#lengths.delete(id);
    this.#terms.delete(id);
    this.#totalLength -= length;
  }

  search(query: string, options: SearchOptions = {}): Scored[] {
    const n = this.#lengths.size;
    if (n === 0) return [];
    const averageLength = this.#totalLength / n || 1;
    const scores = new Map<string, number>();
    for (const term of new Set(tokenise(query))) {
      const posting = this.#postings.get(term);
      if (!posting) continue;
      const idf = bm25Idf(n, posting.size);
      for (const [id, tf] of posting) {
        if (options.accept && !options.accept(id)) continue;
        const length = this.#lengths.get(id) as number;
        const score = (idf * tf * (BM25_K1 + 1)) / (tf + BM25_K1 * (1 - BM25_B + (BM25_B * length) / averageLength));
        scores.set(id, (scores.get(id) ?? 0) + score);
      }
    }
    return topScored(scores, options.limit);
  }
}

/** The "plus one" idf of Lucene: never negative, so a term in most chunks still counts a little. */
export function bm25Idf(documents: number, containing: number): number {
  return Math.log(1 + (documents - containing + 0.5) / (containing + 0.5));
}

/** Highest score first; ties by id so every node orders them alike. */
export function topScored(scores: Map<string, number>, limit?: number): Scored[] {
  const all = [...scores].map(([id, score]) => ({ id, score }));
  all.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return limit === undefined ? all : all.slice(0, limit);
}

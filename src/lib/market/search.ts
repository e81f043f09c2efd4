/**
 * Lexical scoring for `market.search`: the whole ranking when the node has no embedder or it fails (M06 §5's
 * fallback), and one of the two rankings hybrid-search.ts fuses when it has one. Pure functions of the text, so every
 * node ranks the same posts the same way.
 *
 * Folding: lowercase, German umlauts as their standard transliteration (ä→ae, ö→oe, ü→ue, ß→ss), so "Müll" and
 * "Muell" meet, and other accents dropped (é→e). "Mull" does not meet "Müll": that would fold "Mull" and "Muell"
 * into different words anyway. Letters and digits of any script are kept, so posts in other languages still match.
 */

const UMLAUTS: Readonly<Record<string, string>> = { ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss', ẞ: 'ss' };

/** A handful of words that say nothing about what a post is about (German and English). */
const STOP_WORDS = new Set([
  ...'der die das den dem des ein eine einen einem einer und oder mit fuer von zu im in am an auf ist sind bei aus'.split(' '),
  ...'the a an and or of for to in on at with is are'.split(' ')
]);

/** Matching a word inside a compound ("kanister" in "wasserkanister") is worth half an exact match. */
const PART_MATCH_WEIGHT = 0.5;
const PART_MATCH_MIN_CHARS = 3;
export const TITLE_WEIGHT = 3;
export const TAG_WEIGHT = 2;
export const BODY_WEIGHT = 1;

export function foldText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[äöüßẞ]/g, (c) => UMLAUTS[c])
    .normalize('NFD')
    .replace(/\p{M}+/gu, '');
}

/** Words of at least two characters, stop words left out; order and repeats kept (repeats are term frequency). */
export function tokenise(text: string): string[] {
  return foldText(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length >= 2 && !STOP_WORDS.has(word));
}

export interface SearchableText {
  title: string[];
  body: string[];
  tags: string[];
}

export function searchableText(post: { title: string; body: string; tags: readonly string[] }): SearchableText {
  return { title: tokenise(post.title), body: tokenise(post.body), tags: tokenise(post.tags.join(' ')) };
}

function frequency(words: readonly string[], term: string): number {
  let found = 0;
  for (const word of words) {
    if (word === term) found += 1;
    else if (term.length >= PART_MATCH_MIN_CHARS && word.includes(term)) found += PART_MATCH_WEIGHT;
  }
  return found;
}

/**
 * Weighted term frequency over title, tags and body, times the share of query terms the post contains, so a post
 * that mentions both "wasser" and "notfall" outranks one that repeats "wasser" five times. 0 means no match.
 * Scores rank posts within one search; they are not comparable with an embedding's cosine similarity.
 */
export function lexicalScore(queryTerms: readonly string[], text: SearchableText): number {
  const terms = [...new Set(queryTerms)];
  if (terms.length === 0) return 0;
  let sum = 0;
  let matched = 0;
  for (const term of terms) {
    const weight = TITLE_WEIGHT * frequency(text.title, term) + TAG_WEIGHT * frequency(text.tags, term) + BODY_WEIGHT * frequency(text.body, term);
    if (weight > 0) matched++;
    sum += weight;
  }
  return Math.round(sum * (matched / terms.length) * 1000) / 1000;
}

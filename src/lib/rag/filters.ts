/**
 * Metadata filters for rag.query (CONTRACT §4.4 `filter`). Every given condition must hold; an absent condition
 * does not filter. A page range excludes chunks without a page (Markdown, plain text).
 */
import { HearthError } from '../core/errors.js';
import { MAX_FILTER_LIST } from './constants.js';
import type { Chunk } from './types.js';

export interface RagFilter {
  documentIds?: string[];
  mediaTypes?: string[];
  /** The document carries every one of these tags. */
  tags?: string[];
  language?: string;
  /** Inclusive, 1-based. */
  pages?: { from?: number; to?: number };
  /** Inclusive, on the document's `metadata.year` (contract §4.4 `min_year`); a document without a year is left out. */
  years?: { min?: number; max?: number };
}

export interface FilterableDocument {
  id: string;
  mediaType: string;
  tags: readonly string[];
  language?: string;
  metadata?: Readonly<Record<string, unknown>>;
}

export function validateFilter(filter: RagFilter): void {
  for (const key of ['documentIds', 'mediaTypes', 'tags'] as const) {
    const list = filter[key];
    if (list !== undefined && (!Array.isArray(list) || list.length > MAX_FILTER_LIST || !list.every((x) => typeof x === 'string'))) {
      throw new HearthError('bad_request', `filter.${key} must be a list of at most ${MAX_FILTER_LIST} strings`);
    }
  }
  const { from, to } = filter.pages ?? {};
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new HearthError('bad_request', `filter.pages.${name} must be a page number ≥ 1`);
  }
  if (from !== undefined && to !== undefined && from > to) throw new HearthError('bad_request', 'filter.pages.from is after filter.pages.to');
  const { min, max } = filter.years ?? {};
  for (const [name, value] of [['min_year', min], ['max_year', max]] as const) {
    if (value !== undefined && !Number.isInteger(value)) throw new HearthError('bad_request', `filter.${name} must be a whole year such as 2000`);
  }
  if (min !== undefined && max !== undefined && min > max) throw new HearthError('bad_request', 'filter.min_year is after filter.max_year');
}

/** A predicate over chunks, or undefined when the filter lets everything through. */
export function chunkPredicate(filter: RagFilter | undefined, documentOf: (id: string) => FilterableDocument | undefined): ((chunk: Chunk) => boolean) | undefined {
  if (!filter) return undefined;
  validateFilter(filter);
  const ids = filter.documentIds && new Set(filter.documentIds);
  const types = filter.mediaTypes && new Set(filter.mediaTypes.map((t) => t.toLowerCase()));
  const tags = filter.tags && [...new Set(filter.tags.map((t) => t.toLowerCase()))];
  const { from, to } = filter.pages ?? {};
  const hasPageRange = from !== undefined || to !== undefined;
  const { min: minYear, max: maxYear } = filter.years ?? {};
  const hasYearRange = minYear !== undefined || maxYear !== undefined;
  if (!ids && !types && !tags?.length && filter.language === undefined && !hasPageRange && !hasYearRange) return undefined;
  return (chunk) => {
    if (ids && !ids.has(chunk.documentId)) return false;
    const doc = documentOf(chunk.documentId);
    if (!doc) return false;
    if (types && !types.has(doc.mediaType)) return false;
    if (tags && !tags.every((tag) => doc.tags.includes(tag))) return false;
    if (filter.language !== undefined && doc.language !== filter.language) return false;
    if (hasYearRange) {
      const year = doc.metadata?.year;
      if (typeof year !== 'number') return false;
      if (minYear !== undefined && year < minYear) return false;
      if (maxYear !== undefined && year > maxYear) return false;
    }
    if (hasPageRange) {
      if (chunk.page === undefined) return false;
      if (from !== undefined && chunk.page < from) return false;
      if (to !== undefined && chunk.page > to) return false;
    }
    return true;
  };
}

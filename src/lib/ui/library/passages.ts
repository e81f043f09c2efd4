/**
 * Searching a corpus from the UI: the `rag.query@1.0` request (contract §4.4) and its answer read defensively into
 * passages (it crossed the mesh). Shared by the Library page's search and the Ask page's grounding. Pure.
 */
import type { CallRequest } from '../../client/api.js';

export const RAG_QUERY_CAPABILITY = 'rag.query';
export const RAG_QUERY_VERSION = '1.0';
export const SEARCH_K = 5;
/** rag.query refuses longer queries (src/lib/rag/rag-service.ts). */
export const QUERY_MAX_CHARS = 2_000;
/** Corpus names as `rag.document.ingested` accepts them (src/lib/library/library-view.ts). */
const CORPUS_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const DEFAULT_CORPUS = 'emergency';
export const TITLE_MAX_CHARS = 300;

/** One retrieved chunk, numbered from 1 in the order shown. */
export interface Passage {
  n: number;
  score: number;
  text: string;
  docCid: string;
  title: string;
  /** 1-based page for PDFs, else null. */
  page: number | null;
  section: string | null;
  chunkId: string;
}

export function ragQueryRequest(corpus: string, query: string, k = SEARCH_K): CallRequest {
  return {
    capability: RAG_QUERY_CAPABILITY,
    version: RAG_QUERY_VERSION,
    body: { params: { corpus }, input: { query: query.slice(0, QUERY_MAX_CHARS), k } }
  };
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The passages in a `rag.query` result (`{output: {chunks}}`), best first; malformed chunks are skipped. */
export function readPassages(result: unknown): Passage[] {
  const chunks = (result as { output?: { chunks?: unknown } } | null)?.output?.chunks;
  if (!Array.isArray(chunks)) return [];
  const passages: Passage[] = [];
  for (const chunk of chunks) {
    if (!chunk || typeof chunk !== 'object') continue;
    const c = chunk as Record<string, unknown>;
    const meta = (c.metadata && typeof c.metadata === 'object' ? c.metadata : {}) as Record<string, unknown>;
    const body = text(c.text);
    if (body === null || body.trim() === '') continue;
    const page = typeof meta.page === 'number' && Number.isInteger(meta.page) && meta.page > 0 ? meta.page : null;
    passages.push({
      n: passages.length + 1,
      score: typeof c.score === 'number' && Number.isFinite(c.score) ? c.score : 0,
      text: body.trim(),
      docCid: text(meta.doc_cid) ?? '',
      title: text(meta.doc_title)?.trim() || text(meta.title)?.trim() || 'Untitled document',
      page,
      section: text(meta.section)?.trim() || null,
      chunkId: text(meta.chunk_id) ?? `${passages.length + 1}`
    });
  }
  return passages;
}

/** Why a corpus name will not do, or null when it will. */
export function corpusNameProblem(name: string): string | null {
  if (name === '') return 'Give the collection a name, such as “emergency”.';
  if (!CORPUS_NAME.test(name)) return 'Use lower-case letters, digits and hyphens (up to 63), starting with a letter or digit.';
  return null;
}

/** A title from a file name: "water-guide_2024.pdf" → "water guide 2024". */
export function titleFromFileName(name: string): string {
  return name
    .replace(/\.[a-z0-9]{1,8}$/i, '')
    .replace(/[_-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, TITLE_MAX_CHARS);
}

/** Scores differ by ranker (fused, BM25, cosine); two decimals are enough to compare passages of one answer. */
export function formatScore(score: number): string {
  return Number.isFinite(score) ? score.toFixed(score !== 0 && Math.abs(score) < 0.01 ? 4 : 2) : '—';
}

/** Where a passage sits: "page 12", "Section 3", "page 4 · Boiling water", or "". */
export function whereInDocument(passage: Pick<Passage, 'page' | 'section'>, pageWord = 'page'): string {
  return [passage.page !== null ? `${pageWord} ${passage.page}` : null, passage.section].filter(Boolean).join(' · ');
}

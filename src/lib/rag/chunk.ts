/**
 * Sliding-window chunking in approximate tokens (M05 §3.1): windows of RAG_CHUNK_TOKENS with
 * RAG_CHUNK_OVERLAP_TOKENS shared between neighbours. A window ends at the last paragraph break in its second
 * half, else the last sentence end, else the last space, else it is cut hard. The next window starts at the first
 * sentence (else word) start inside the overlap, so chunks rarely begin mid-sentence. Pure and deterministic:
 * the same text gives the same chunks, which is what makes chunk ids stable.
 */
import { HearthError } from '../core/errors.js';
import { CHARS_PER_TOKEN, RAG_CHUNK_OVERLAP_TOKENS, RAG_CHUNK_TOKENS } from './constants.js';
import type { Chunk, TextSegment } from './types.js';

export interface ChunkOptions {
  tokensPerChunk?: number;
  overlapTokens?: number;
}

export interface Span {
  start: number;
  end: number;
}

const SENTENCE_END = /[.!?…]+["'»«”)\]]*(?=\s)/g;
const SENTENCE_START = /(?:[.!?…]+["'»«”)\]]*\s+|\n\s*)(?=\S)/g;

export function approximateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Spans of `text` (trimmed of surrounding whitespace) covering all of its non-blank content. */
export function chunkSpans(text: string, options: ChunkOptions = {}): Span[] {
  const tokensPerChunk = options.tokensPerChunk ?? RAG_CHUNK_TOKENS;
  const overlapTokens = options.overlapTokens ?? RAG_CHUNK_OVERLAP_TOKENS;
  if (!Number.isInteger(tokensPerChunk) || tokensPerChunk < 1) throw new HearthError('bad_request', 'tokensPerChunk must be a positive integer');
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= tokensPerChunk) {
    throw new HearthError('bad_request', 'overlapTokens must be an integer in [0, tokensPerChunk)');
  }
  const size = tokensPerChunk * CHARS_PER_TOKEN;
  const overlap = overlapTokens * CHARS_PER_TOKEN;
  const spans: Span[] = [];
  let start = skipSpace(text, 0);
  const length = trimEnd(text, text.length);
  while (start < length) {
    if (length - start <= size) {
      spans.push({ start, end: length });
      break;
    }
    const end = trimEnd(text, cutPoint(text, start + Math.floor(size / 2), start + size));
    spans.push({ start, end });
    let next = overlap > 0 ? nextStart(text, Math.max(end - overlap, start + 1), end) : end;
    next = skipSpace(text, next);
    start = next > start ? next : skipSpace(text, end);
  }
  return spans;
}

/** Chunks of a document's segments; a chunk never spans two segments, so its page or section is exact. */
export function chunkSegments(documentId: string, segments: readonly TextSegment[], options: ChunkOptions = {}): Chunk[] {
  const chunks: Chunk[] = [];
  for (const segment of segments) {
    for (const span of chunkSpans(segment.text, options)) {
      const index = chunks.length;
      const chunk: Chunk = {
        id: `${documentId}#${index}`,
        documentId,
        index,
        text: segment.text.slice(span.start, span.end),
        start: segment.offset + span.start,
        end: segment.offset + span.end
      };
      if (segment.page !== undefined) chunk.page = segment.page;
      if (segment.section !== undefined) chunk.section = segment.section;
      chunks.push(chunk);
    }
  }
  return chunks;
}

/** The best place to end a window that may end anywhere in [from, limit]. */
function cutPoint(text: string, from: number, limit: number): number {
  // Searched within the window only: lastIndexOf from `limit` would scan back to the text's start every window.
  const paragraph = text.slice(from, limit + 2).lastIndexOf('\n\n');
  if (paragraph >= 0 && from + paragraph <= limit) return from + paragraph;
  let sentence = -1;
  for (const match of text.slice(from, limit).matchAll(SENTENCE_END)) sentence = from + match.index + match[0].length;
  if (sentence > from) return sentence;
  for (let i = limit; i > from; i--) if (/\s/.test(text[i])) return i;
  return limit;
}

/** The first sentence start in [from, before), else the first word start there, else `from`. */
function nextStart(text: string, from: number, before: number): number {
  if (from === 0 || text[from - 1] === '\n') return from;
  const window = text.slice(from - 1, before);
  SENTENCE_START.lastIndex = 0;
  const sentence = SENTENCE_START.exec(window);
  if (sentence) return from - 1 + sentence.index + sentence[0].length;
  for (let i = from; i < before; i++) if (/\s/.test(text[i - 1]) && !/\s/.test(text[i])) return i;
  return from;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

function trimEnd(text: string, end: number): number {
  while (end > 0 && /\s/.test(text[end - 1])) end--;
  return end;
}

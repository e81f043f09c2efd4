import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import {
  CHARS_PER_TOKEN,
  RAG_CHUNK_OVERLAP_TOKENS,
  RAG_CHUNK_TOKENS,
  chunkSegments,
  chunkSpans,
  documentText,
  extractText
} from '../../../src/lib/rag/index.js';
import { buildTinyPdf } from '../../support/tiny-pdf.js';

const sentence = (i: number) => `Satz Nummer ${i} handelt vom Wasser und vom Strom im Viertel.`;
const paragraph = (from: number, count: number) => Array.from({ length: count }, (_, i) => sentence(from + i)).join(' ');

describe('chunkSpans', () => {
  it('uses M05 defaults: windows of 1000 tokens with 200 tokens of overlap', () => {
    const text = paragraph(0, 400); // ~24 000 chars
    const spans = chunkSpans(text);
    const size = RAG_CHUNK_TOKENS * CHARS_PER_TOKEN;
    const overlap = RAG_CHUNK_OVERLAP_TOKENS * CHARS_PER_TOKEN;
    expect(spans.length).toBeGreaterThan(6);
    for (const s of spans) expect(s.end - s.start).toBeLessThanOrEqual(size);
    for (const s of spans.slice(0, -1)) expect(s.end - s.start).toBeGreaterThan(size / 2);
    for (let i = 1; i < spans.length; i++) {
      const shared = spans[i - 1].end - spans[i].start;
      expect(shared).toBeGreaterThan(0);
      expect(shared).toBeLessThanOrEqual(overlap);
    }
    expect(spans[0].start).toBe(0);
    expect(spans.at(-1)?.end).toBe(text.length);
  });

  it('test_chunk_text_respects_paragraph_boundaries: ends at a blank line when one is in the second half', () => {
    const text = `${paragraph(0, 10)}\n\n${paragraph(10, 10)}\n\n${paragraph(20, 10)}`;
    const spans = chunkSpans(text, { tokensPerChunk: 200, overlapTokens: 20 });
    const first = text.slice(spans[0].start, spans[0].end);
    expect(first).toBe(`${paragraph(0, 10)}\n\n${paragraph(10, 10)}`.slice(0, first.length));
    expect(text.slice(spans[0].end, spans[0].end + 2)).toBe('\n\n');
  });

  it('falls back to sentence ends, and starts the next chunk at a sentence start inside the overlap', () => {
    const text = paragraph(0, 40);
    const spans = chunkSpans(text, { tokensPerChunk: 100, overlapTokens: 30 });
    for (const s of spans) {
      expect(text.slice(s.start, s.end)).toMatch(/^Satz Nummer \d+/);
      expect(text.slice(s.start, s.end)).toMatch(/Viertel\.$/);
    }
  });

  it('falls back to words, then to a hard cut', () => {
    const words = Array.from({ length: 300 }, (_, i) => `wort${i}`).join(' ');
    for (const s of chunkSpans(words, { tokensPerChunk: 50, overlapTokens: 10 })) {
      expect(words.slice(s.start, s.end)).toMatch(/^wort\d+( wort\d+)*$/);
    }
    const blob = 'x'.repeat(1000);
    const spans = chunkSpans(blob, { tokensPerChunk: 50, overlapTokens: 10 });
    expect(spans[0]).toEqual({ start: 0, end: 200 });
    expect(spans.at(-1)?.end).toBe(1000);
  });

  it('returns one span for short text and none for blank text', () => {
    expect(chunkSpans('  kurz.  ')).toEqual([{ start: 2, end: 7 }]);
    expect(chunkSpans(' \n\n ')).toEqual([]);
  });

  it('rejects an overlap as large as the chunk', () => {
    expect(() => chunkSpans('x', { tokensPerChunk: 10, overlapTokens: 10 })).toThrow(HearthError);
  });
});

describe('chunkSegments', () => {
  it('test_chunk_pdf_carries_page_number: chunks keep document id, page, offsets and a stable id', async () => {
    const pages = [paragraph(0, 60), 'Seite zwei ist kurz.', paragraph(100, 60)];
    const extracted = await extractText(buildTinyPdf(pages), 'application/pdf');
    const chunks = chunkSegments('doc-1', extracted.segments, { tokensPerChunk: 200, overlapTokens: 40 });
    const whole = documentText(extracted);
    expect(new Set(chunks.map((c) => c.page))).toEqual(new Set([1, 2, 3]));
    for (const c of chunks) {
      expect(c.documentId).toBe('doc-1');
      expect(whole.slice(c.start, c.end)).toBe(c.text);
      expect(c.id).toBe(`doc-1#${c.index}`);
    }
    expect(chunks.find((c) => c.page === 2)?.text).toBe('Seite zwei ist kurz.');
    const again = chunkSegments('doc-1', (await extractText(buildTinyPdf(pages), 'application/pdf')).segments, { tokensPerChunk: 200, overlapTokens: 40 });
    expect(again).toEqual(chunks);
  });

  it('carries the Markdown section', async () => {
    const extracted = await extractText(new TextEncoder().encode('# A\n\neins\n\n## B\n\nzwei'), 'text/markdown');
    expect(chunkSegments('md', extracted.segments).map((c) => [c.section, c.text])).toEqual([
      ['A', 'A\n\neins'],
      ['A > B', 'B\n\nzwei']
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { corpusNameProblem, formatScore, ragQueryRequest, readPassages, titleFromFileName, whereInDocument } from '../../../src/lib/ui/library/passages.js';

describe('rag.query from the UI', () => {
  it('asks as contract §4.4 says', () => {
    expect(ragQueryRequest('emergency', 'water', 5)).toEqual({
      capability: 'rag.query',
      version: '1.0',
      body: { params: { corpus: 'emergency' }, input: { query: 'water', k: 5 } }
    });
    expect((ragQueryRequest('c', 'x'.repeat(5_000)).body as { input: { query: string } }).input.query).toHaveLength(2_000);
  });

  it('reads the chunks rag-service returns, skipping malformed ones', () => {
    const result = {
      output: {
        chunks: [
          { rank: 1, score: 0.84, text: ' Boil it. ', metadata: { doc_cid: 'blake3:aa', doc_title: 'Trinkwasser', chunk_id: 'ch_1', page: 12, section: 'Abkochen' } },
          { rank: 2, score: 0.5, metadata: { doc_cid: 'blake3:bb' } },
          null,
          { rank: 3, score: 'high', text: 'Filter.', metadata: { doc_cid: 'blake3:cc', page: 0 } }
        ]
      }
    };
    expect(readPassages(result)).toEqual([
      { n: 1, score: 0.84, text: 'Boil it.', docCid: 'blake3:aa', title: 'Trinkwasser', page: 12, section: 'Abkochen', chunkId: 'ch_1' },
      { n: 2, score: 0, text: 'Filter.', docCid: 'blake3:cc', title: 'Untitled document', page: null, section: null, chunkId: '2' }
    ]);
    expect(readPassages(null)).toEqual([]);
    expect(readPassages({ output: { chunks: 'no' } })).toEqual([]);
  });
});

describe('library form helpers', () => {
  it('checks corpus names as the library view accepts them', () => {
    expect(corpusNameProblem('emergency')).toBeNull();
    expect(corpusNameProblem('first-aid-2')).toBeNull();
    expect(corpusNameProblem('')).not.toBeNull();
    expect(corpusNameProblem('Emergency')).not.toBeNull();
    expect(corpusNameProblem('-x')).not.toBeNull();
  });

  it('titles a document from its file name', () => {
    expect(titleFromFileName('water-guide_2024.pdf')).toBe('water guide 2024');
    expect(titleFromFileName('Notes.md')).toBe('Notes');
  });

  it('formats scores and places', () => {
    expect(formatScore(0.8412)).toBe('0.84');
    expect(formatScore(0.0163)).toBe('0.02');
    expect(formatScore(0.00163)).toBe('0.0016');
    expect(whereInDocument({ page: 4, section: 'Boiling' })).toBe('page 4 · Boiling');
    expect(whereInDocument({ page: null, section: null })).toBe('');
  });
});

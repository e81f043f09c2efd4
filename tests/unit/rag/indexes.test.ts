import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import { Bm25Index, VectorIndex, reciprocalRankFusion } from '../../../src/lib/rag/index.js';

describe('Bm25Index', () => {
  const index = new Bm25Index();
  index.add('water', 'Regenwasser filtern und Wasser abkochen. Wasser, Wasser.');
  index.add('water-once', 'Einmal Wasser erwähnt, sonst geht es um Fahrräder und Werkzeug und Leitern und Schrauben.');
  index.add('generator', 'Der Generator steht draußen; Abgase sind gefährlich.');
  index.add('waste', 'Müll trennen: Papier, Glas, Verpackungen.');

  it('ranks by term frequency and length, and rare terms above common ones', () => {
    expect(index.search('Wasser').map((s) => s.id)).toEqual(['water', 'water-once']);
    expect(index.search('Wasser Generator')[0].id).toBe('generator'); // "generator" is in one chunk, "wasser" in two
  });

  it('folds umlauts and case like the market search ("Muell" finds "Müll")', () => {
    expect(index.search('MUELL').map((s) => s.id)).toEqual(['waste']);
    expect(index.search('draussen').map((s) => s.id)).toEqual(['generator']);
  });

  it('honours limit and accept, ignores stop words and unknown terms', () => {
    expect(index.search('Wasser', { limit: 1 })).toHaveLength(1);
    expect(index.search('Wasser', { accept: (id) => id !== 'water' }).map((s) => s.id)).toEqual(['water-once']);
    expect(index.search('und der die')).toEqual([]);
    expect(index.search('Quantenchromodynamik')).toEqual([]);
  });

  it('forgets removed chunks and re-adding replaces', () => {
    const small = new Bm25Index();
    small.add('a', 'Wasser');
    small.add('b', 'Strom');
    small.remove('a');
    expect(small.search('Wasser')).toEqual([]);
    small.add('b', 'Wasser');
    expect(small.search('Strom')).toEqual([]);
    expect(small.search('Wasser').map((s) => s.id)).toEqual(['b']);
    expect(small.size).toBe(1);
  });
});

describe('VectorIndex', () => {
  const v = (...xs: number[]) => Float32Array.from(xs);

  it('ranks by cosine similarity, whatever the vectors\' lengths', () => {
    const index = new VectorIndex('m1');
    index.add('x', v(10, 0, 0), 'm1');
    index.add('xy', v(1, 1, 0), 'm1');
    index.add('z', v(0, 0, 0.1), 'm1');
    const results = index.search(v(2, 0.2, 0), 'm1');
    expect(results.map((r) => r.id)).toEqual(['x', 'xy', 'z']);
    expect(results[0].score).toBeCloseTo(2 / Math.sqrt(4.04), 5);
    expect(results[2].score).toBeCloseTo(0, 6);
  });

  it('refuses to add or query a vector of another model', () => {
    const index = new VectorIndex('m1');
    index.add('a', v(1, 0), 'm1');
    for (const act of [() => index.add('b', v(0, 1), 'm2'), () => index.search(v(0, 1), 'm2')]) {
      const error = (() => {
        try {
          act();
        } catch (e) {
          return e as HearthError;
        }
      })();
      expect(error).toBeInstanceOf(HearthError);
      expect(error?.code).toBe('bad_request');
      expect(error?.extra.reason).toBe('embedding_model_mismatch');
    }
    expect(index.size).toBe(1);
  });

  it('refuses another dimension and non-finite values', () => {
    const index = new VectorIndex('m1');
    index.add('a', v(1, 0), 'm1');
    expect(() => index.add('b', v(1, 0, 0), 'm1')).toThrow(/dimensions/);
    expect(() => index.add('c', v(NaN, 0), 'm1')).toThrow(/finite/);
  });
});

describe('reciprocalRankFusion', () => {
  it('sums 1/(60 + rank), so a chunk both lists rank well beats one only a single list ranks first', () => {
    const lexical = [{ id: 'a', score: 9 }, { id: 'b', score: 5 }, { id: 'c', score: 1 }];
    const dense = [{ id: 'b', score: 0.9 }, { id: 'c', score: 0.8 }, { id: 'd', score: 0.1 }];
    const fused = reciprocalRankFusion([lexical, dense]);
    expect(fused.map((s) => s.id)).toEqual(['b', 'c', 'a', 'd']);
    expect(fused[0].score).toBeCloseTo(1 / 62 + 1 / 61, 12);
    expect(fused[2].score).toBeCloseTo(1 / 61, 12);
  });
});

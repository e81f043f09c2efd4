/**
 * The zero-download model `hearth-hashed-ngrams-v1` (DESIGN §4): deterministic to the bit, unit length, German
 * folding, typo tolerance, and real retrieval on a labelled set — compared in the same run with plain word overlap.
 */
import { describe, expect, it } from 'vitest';
import { dot } from '../../../src/lib/embed/embedder.js';
import { HASHED_NGRAMS_DIMENSIONS, HASHED_NGRAMS_MODEL, HashedNgramEmbedder, hashedNgramVector, hashedNgramWords } from '../../../src/lib/embed/hashed-ngrams.js';
import { tokenise } from '../../../src/lib/market/search.js';
import { PASSAGES, QUERIES, recall } from './retrieval-set.js';

const cosine = (a: string, b: string) => dot(hashedNgramVector(a), hashedNgramVector(b));

/** FNV-1a over the vector's bytes: pins every bit of a vector in one number. */
function fingerprint(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

describe('hearth-hashed-ngrams-v1', () => {
  it('names itself and its size; another size is another model', () => {
    const embedder = new HashedNgramEmbedder();
    expect([embedder.model, embedder.dimensions]).toEqual([HASHED_NGRAMS_MODEL, 1024]);
    expect(new HashedNgramEmbedder({ dimensions: 256 }).model).toBe(`${HASHED_NGRAMS_MODEL}-256`);
    expect(() => new HashedNgramEmbedder({ dimensions: 300 })).toThrow(/power of two/);
  });

  it('gives the same vector for the same text, bit for bit — pinned, so a change to the model cannot pass unnoticed', async () => {
    const text = 'Trinkwasser abkochen: mindestens eine Minute sprudelnd kochen lassen. Boil water for one minute!';
    const first = hashedNgramVector(text);
    const again = (await new HashedNgramEmbedder().embed([text], new AbortController().signal))[0];
    expect(Buffer.from(again.buffer).equals(Buffer.from(first.buffer))).toBe(true);
    // Known answers: changing folding, features, weights or hashing changes these — and needs a new model name.
    expect(fingerprint(first)).toBe('0aad2458');
    expect(fingerprint(hashedNgramVector('Wasser'))).toBe('aac2acb8');
    expect(hashedNgramWords('Die Straße, DAS Müll-Problem und ﬁve Äpfel')).toEqual(['strasse', 'muell', 'problem', 'five', 'aepfel']);
  });

  it('gives unit vectors, and the zero vector for a text without words', () => {
    for (const p of PASSAGES) expect(Math.abs(dot(hashedNgramVector(p.text), hashedNgramVector(p.text)) - 1)).toBeLessThan(1e-6);
    expect(hashedNgramVector('?! … –').every((x) => x === 0)).toBe(true);
    expect(hashedNgramVector('').length).toBe(HASHED_NGRAMS_DIMENSIONS);
  });

  it('folds German: umlauts and ß as written out, composed or decomposed, any case', () => {
    const same = (a: string, b: string) => expect(fingerprint(hashedNgramVector(a))).toBe(fingerprint(hashedNgramVector(b)));
    same('Müll an der Straße', 'MUELL AN DER STRASSE');
    same('Mu\u0308ll', 'Müll'); // decomposed ü (macOS file names, some keyboards)
    same('Größe', 'groesse');
    same('café', 'Cafe');
    expect(cosine('Müll', 'Mull')).toBeLessThan(0.9); // "Mull" (gauze) is another word
  });

  it('tolerates typos through character n-grams: a misspelt word stays closer to its word than to others', () => {
    const pairs: [string, string, string][] = [
      ['abkohen', 'abkochen', 'ablegen'],
      ['Stromausfal', 'Stromausfall', 'Strandbad'],
      ['flashlihgts', 'flashlights', 'flights'],
      ['Kohlenmonoxyd', 'Kohlenmonoxid', 'Kohlrabi']
    ];
    for (const [typo, word, other] of pairs) {
      // Alone, the misspelt word shares no word feature, only grams: ~0.2–0.45, against < 0.1 for a look-alike.
      expect(cosine(typo, word), `${typo} ~ ${word}`).toBeGreaterThan(0.15);
      expect(cosine(typo, word), `${typo}: ${word} over ${other}`).toBeGreaterThan(2 * cosine(typo, other));
    }
  });

  it('retrieves: a query finds its passage among distractors (German and English, typos, folding, compounds)', () => {
    const vectors = new Map(PASSAGES.map((p) => [p.id, hashedNgramVector(p.text)]));
    const hashed = recall((q, p) => dot(hashedNgramVector(q), vectors.get(p.id)!));
    const words = recall((q, p) => {
      const wanted = new Set(tokenise(q));
      return tokenise(p.text).filter((w) => wanted.has(w)).length;
    });
    const show = (r: { recallAt1: number; recallAt5: number }) => `recall@1 ${r.recallAt1.toFixed(3)}, recall@5 ${r.recallAt5.toFixed(3)}`;
    console.log(`hashed n-grams on ${QUERIES.length} queries × ${PASSAGES.length} passages: ${show(hashed)}; word overlap: ${show(words)}`);
    if (hashed.misses.length) console.log(`misses:\n  ${hashed.misses.join('\n  ')}`);
    expect(hashed.recallAt1).toBeGreaterThanOrEqual(0.9);
    expect(hashed.recallAt5).toBeGreaterThanOrEqual(0.97);
    expect(hashed.recallAt1).toBeGreaterThan(words.recallAt1);
    // The brief's example, stated alone.
    const ranked = PASSAGES.map((p) => ({ id: p.id, s: dot(hashedNgramVector('Wasser abkochen'), vectors.get(p.id)!) })).sort((a, b) => b.s - a.s);
    expect(ranked[0].id).toBe('boil');
  });

  it('stops between texts when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(new HashedNgramEmbedder().embed(['a b c'], controller.signal)).rejects.toThrow();
  });
});

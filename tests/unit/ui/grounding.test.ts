import { describe, expect, it } from 'vitest';
import {
  MIN_PASSAGE_CHARS,
  citedNumbers,
  cutText,
  groundedPrompt,
  instructions,
  parseCitations,
  passageHeading,
  trimHistory,
  type Segment
} from '../../../src/lib/ui/ask/grounding.js';
import type { Passage } from '../../../src/lib/ui/library/passages.js';

function passage(n: number, text: string, extra: Partial<Passage> = {}): Passage {
  return { n, score: 1 / n, text, docCid: `blake3:${String(n).padStart(64, '0')}`, title: `Doc ${n}`, page: null, section: null, chunkId: `c${n}`, ...extra };
}

const cite = (n: number): Segment => ({ kind: 'cite', n });
const text = (t: string): Segment => ({ kind: 'text', text: t });

describe('groundedPrompt', () => {
  it('G1 numbers the passages 1..n with title and page, after the instructions', () => {
    const { messages, passages } = groundedPrompt({
      corpus: 'emergency',
      question: 'How do I purify rain water?',
      passages: [passage(7, 'Boil it for a minute.', { title: 'Notfall-Trinkwasser', page: 12 }), passage(9, 'Filter it through cloth first.')]
    });
    expect(passages.map((p) => p.n)).toEqual([1, 2]);
    expect(messages[0].role).toBe('system');
    expect(messages[0].content).toBe(
      `${instructions('emergency')}\n\n[1] Notfall-Trinkwasser, page 12\nBoil it for a minute.\n\n[2] Doc 9\nFilter it through cloth first.`
    );
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'How do I purify rain water?' });
    expect(messages[0].content).toContain('[1]');
    expect(instructions('emergency')).toMatch(/square brackets/);
  });

  it('G2 keeps the system message within the budget, cutting the first passage that does not fit', () => {
    const long = 'word '.repeat(400).trim(); // 1 999 characters
    const budget = instructions('c').length + 2_600;
    const { messages, passages } = groundedPrompt({ corpus: 'c', question: 'q', passages: [passage(1, long), passage(2, long), passage(3, 'short')], budgetChars: budget });
    expect(messages[0].content.length).toBeLessThanOrEqual(budget);
    expect(passages.map((p) => p.n)).toEqual([1, 2]);
    expect(messages[0].content.endsWith('…')).toBe(true);
    expect(messages[0].content).not.toContain('short'); // nothing after the cut one
    expect(passages[1].text).toBe(long); // the Sources list shows the whole passage
  });

  it('G2 drops a passage when less than the minimum of it would fit', () => {
    const budget = instructions('c').length + 60 + MIN_PASSAGE_CHARS - 1;
    const { passages, messages } = groundedPrompt({ corpus: 'c', question: 'q', passages: [passage(1, 'x'.repeat(40)), passage(2, 'Y'.repeat(500))], budgetChars: budget });
    expect(passages.map((p) => p.n)).toEqual([1]);
    expect(messages[0].content).not.toContain('YYY');
  });

  it('G3 carries the newest earlier turns within the history budget, starting with a question', () => {
    const history = [
      { role: 'user' as const, content: 'a'.repeat(30) },
      { role: 'assistant' as const, content: 'b'.repeat(30) },
      { role: 'user' as const, content: 'c'.repeat(30) },
      { role: 'assistant' as const, content: 'd'.repeat(30) }
    ];
    const { messages } = groundedPrompt({ corpus: 'c', question: 'now?', passages: [passage(1, 'p')], history, historyChars: 90 });
    expect(messages.map((m) => m.content[0])).toEqual([instructions('c')[0], 'c', 'd', 'n']);
    expect(trimHistory(history, 10)).toEqual([]);
    expect(trimHistory(history, 1_000)).toEqual(history);
  });
});

describe('passageHeading and cutText', () => {
  it('omits an unknown page', () => {
    expect(passageHeading(3, { title: 'Guide', page: null })).toBe('[3] Guide');
    expect(passageHeading(1, { title: 'Guide', page: 4 })).toBe('[1] Guide, page 4');
  });

  it('cuts at a word near the limit and marks the cut', () => {
    expect(cutText('short', 10)).toBe('short');
    const cut = cutText('alpha beta gamma delta epsilon', 20);
    expect(cut.length).toBeLessThanOrEqual(20);
    expect(cut).toBe('alpha beta gamma…');
    expect(cutText('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('parseCitations (G4)', () => {
  it('turns [1] into a marker between text', () => {
    expect(parseCitations('Boil it [1].', 3)).toEqual([text('Boil it '), cite(1), text('.')]);
  });

  it('splits [1, 2] and [1;2] into one marker per number', () => {
    expect(parseCitations('Yes [1, 2]', 2)).toEqual([text('Yes '), cite(1), cite(2)]);
    expect(parseCitations('[2;1]', 2)).toEqual([cite(2), cite(1)]);
  });

  it('reads adjacent markers [3][4]', () => {
    expect(parseCitations('See [3][4] and more', 5)).toEqual([text('See '), cite(3), cite(4), text(' and more')]);
  });

  it('expands a short range', () => {
    expect(parseCitations('[1-3]', 5)).toEqual([cite(1), cite(2), cite(3)]);
    expect(parseCitations('[1990-2020]', 5)).toEqual([text('[1990-2020]')]);
  });

  it('leaves out-of-range numbers as text', () => {
    expect(parseCitations('Maybe [7].', 5)).toEqual([text('Maybe [7].')]);
    expect(parseCitations('[0]', 5)).toEqual([text('[0]')]);
    expect(parseCitations('[2, 9]', 5)).toEqual([cite(2), text('[9]')]);
  });

  it('leaves other brackets and unfinished markers alone', () => {
    expect(parseCitations('a [note] b [1', 5)).toEqual([text('a [note] b [1')]);
    expect(parseCitations('', 5)).toEqual([]);
    expect(parseCitations('no passages [1]', 0)).toEqual([text('no passages [1]')]);
  });

  it('lists the cited numbers once, in first-cited order', () => {
    expect(citedNumbers(parseCitations('x [2] y [1][2] z [3]', 3))).toEqual([2, 1, 3]);
  });
});

/**
 * Answers from the library (Ask with "Use library"): the prompt built from retrieved passages, and the answer's
 * citation markers read back into segments the page renders as links to its sources. Pure; relative imports so
 * unit tests load it.
 *
 * Rules (tests cite them):
 *  G1 Passages are numbered 1..n in retrieval order, each headed `[n] Title, page P` (page only when known).
 *  G2 The system message stays within `budgetChars`: passages are added whole while they fit; the first that does
 *     not is cut (at a word, marked "…") when at least MIN_PASSAGE_CHARS of it fit, and no later passage is added.
 *     Only the passages in the prompt are returned, so the numbers shown match the numbers the model saw.
 *  G3 Earlier turns ride along newest first within `historyChars`, beginning with a question.
 *  G4 Citations: `[1]`, `[1, 2]`, `[1;2]`, `[1-3]` and `[3][4]` become markers for each number from 1 to the
 *     passage count; a number outside that range stays as text, and a bracket with no number in range stays whole.
 */
import type { Passage } from '../library/passages.js';

/** About 1 500 tokens: room for five passages even in a browser model's small context window. */
export const PASSAGE_BUDGET_CHARS = 6_000;
/** Earlier turns kept with a grounded question; the passages matter more than a long conversation. */
export const GROUNDED_HISTORY_CHARS = 4_000;
/** A cut passage shorter than this would say too little to cite. */
export const MIN_PASSAGE_CHARS = 200;
/** A range `[a-b]` longer than this is not a citation (a year span, say). */
const MAX_CITATION_RANGE = 10;

export function instructions(corpus: string): string {
  return [
    `Answer the question using only the numbered passages below from the library "${corpus}".`,
    'Cite the passages you use by their number in square brackets, such as [1] or [2][3], right after the statement they support.',
    'If the passages do not contain the answer, say so plainly instead of guessing.',
    'Answer in the language of the question.'
  ].join('\n');
}

/** `[2] Notfall-Trinkwasser, page 12` (G1). */
export function passageHeading(n: number, passage: Pick<Passage, 'title' | 'page'>): string {
  return `[${n}] ${passage.title}${passage.page !== null ? `, page ${passage.page}` : ''}`;
}

/** Cuts `text` to at most `max` characters, at a word boundary when one is near, ending with "…". */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, Math.max(0, max));
  const hard = text.slice(0, max - 1);
  const space = hard.search(/\s\S*$/);
  const cut = space >= max * 0.6 ? hard.slice(0, space) : hard;
  return `${cut.trimEnd()}…`;
}

/** `llm.chat` takes system messages too (contract §4.1); the plain chat sends none. */
export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface GroundedPrompt {
  /** System message, earlier turns, then the question. */
  messages: PromptMessage[];
  /** The passages in the prompt, renumbered 1..n (G2). */
  passages: Passage[];
}

/** Newest earlier messages within `maxChars`, starting with a question (G3). */
export function trimHistory(history: readonly PromptMessage[], maxChars: number): PromptMessage[] {
  let start = history.length;
  let chars = 0;
  while (start > 0 && chars + history[start - 1].content.length <= maxChars) {
    start--;
    chars += history[start].content.length;
  }
  while (start < history.length && history[start].role !== 'user') start++;
  return history.slice(start);
}

export function groundedPrompt(options: {
  corpus: string;
  question: string;
  passages: readonly Passage[];
  history?: readonly PromptMessage[];
  budgetChars?: number;
  historyChars?: number;
}): GroundedPrompt {
  const budget = options.budgetChars ?? PASSAGE_BUDGET_CHARS;
  let system = instructions(options.corpus);
  const used: Passage[] = [];
  for (const passage of options.passages) {
    const n = used.length + 1;
    const head = `\n\n${passageHeading(n, passage)}\n`;
    const room = budget - system.length - head.length;
    if (passage.text.length <= room) {
      system += head + passage.text;
      used.push({ ...passage, n });
      continue;
    }
    if (room >= MIN_PASSAGE_CHARS) {
      system += head + cutText(passage.text, room);
      used.push({ ...passage, n });
    }
    break;
  }
  const history = trimHistory(options.history ?? [], options.historyChars ?? GROUNDED_HISTORY_CHARS);
  return { messages: [{ role: 'system', content: system }, ...history, { role: 'user', content: options.question }], passages: used };
}

export type Segment = { kind: 'text'; text: string } | { kind: 'cite'; n: number };

const CITATION = /\[\s*(\d{1,3}(?:\s*[-–]\s*\d{1,3})?(?:\s*[,;]\s*\d{1,3}(?:\s*[-–]\s*\d{1,3})?)*)\s*\]/g;

/** The numbers a bracket's inside names: "1, 2" → [1, 2]; "1-3" → [1, 2, 3]; a long or backward range → null. */
function citedIn(inside: string): number[] | null {
  const numbers: number[] = [];
  for (const item of inside.split(/[,;]/)) {
    const [from, to] = item.split(/[-–]/).map((part) => Number.parseInt(part.trim(), 10));
    if (to === undefined) numbers.push(from);
    else if (to >= from && to - from < MAX_CITATION_RANGE) for (let n = from; n <= to; n++) numbers.push(n);
    else return null;
  }
  return numbers;
}

/** The answer as text and citation markers (G4); adjacent text is merged. */
export function parseCitations(answer: string, passageCount: number): Segment[] {
  const segments: Segment[] = [];
  const pushText = (text: string) => {
    if (text === '') return;
    const last = segments.at(-1);
    if (last?.kind === 'text') last.text += text;
    else segments.push({ kind: 'text', text });
  };
  let at = 0;
  for (const match of answer.matchAll(CITATION)) {
    pushText(answer.slice(at, match.index));
    at = match.index + match[0].length;
    const numbers = citedIn(match[1]);
    const inRange = (n: number) => n >= 1 && n <= passageCount;
    if (!numbers || !numbers.some(inRange)) {
      pushText(match[0]);
      continue;
    }
    for (const n of numbers) {
      if (inRange(n)) segments.push({ kind: 'cite', n });
      else pushText(`[${n}]`);
    }
  }
  pushText(answer.slice(at));
  return segments;
}

/** The passage numbers an answer cites, in first-cited order. */
export function citedNumbers(segments: readonly Segment[]): number[] {
  const seen: number[] = [];
  for (const segment of segments) if (segment.kind === 'cite' && !seen.includes(segment.n)) seen.push(segment.n);
  return seen;
}

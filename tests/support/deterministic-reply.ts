/**
 * The stand-in model's "sampling": words of a fixed text, starting at an offset and running for a length both
 * taken from a hash of (model, seed, input). Same input and seed → same reply, on any machine; a different seed
 * or input → almost surely a different one. Temperature and top_p are accepted and ignored.
 */

export const STANDIN_TEXT =
  'When the lines go quiet the street still talks. A kettle on the third floor knows the weather, the bakery ' +
  'keeps a list of who needs bread, and the radio in the garage repeats the news to anyone who asks. Messages ' +
  'walk from door to door, signed and patient, until every neighbour has them. Nothing here waits for a distant ' +
  'server; the hearth is the network, and the network is the people around it.';

export const STANDIN_WORDS: readonly string[] = STANDIN_TEXT.split(/\s+/);

/** Longest reply when neither max_tokens nor a stop string ends it first. */
const NATURAL_MIN_TOKENS = 6;
const NATURAL_SPREAD_TOKENS = 19;

export interface ReplyInput {
  model: string;
  /** The last user message (chat) or the prompt (completion). */
  text: string;
  seed: number | null;
  maxTokens: number;
  stop: readonly string[];
  /** A fixed natural length instead of the hash's 6–24 tokens (benchmarks want long replies). */
  naturalTokens?: number | null;
  /** Reply with these words instead of the stand-in's (a test that needs the model to say something exact). */
  fixedText?: string | null;
}

export interface DeterministicReply {
  /** What is streamed, one entry per token; the last may be cut short by a stop string. */
  pieces: string[];
  text: string;
  finishReason: 'stop' | 'length';
  /** The stop string that ended the reply, or null (natural end or max_tokens). */
  matchedStop: string | null;
  /** Tokens "sampled", including one whose text was swallowed by a stop string. */
  completionTokens: number;
}

/** 32-bit FNV-1a over UTF-8: tiny, stable, good enough to spread inputs. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function firstStopIndex(text: string, stops: readonly string[]): { index: number; stop: string } | null {
  let best: { index: number; stop: string } | null = null;
  for (const stop of stops) {
    if (stop === '') continue;
    const index = text.indexOf(stop);
    if (index >= 0 && (best === null || index < best.index)) best = { index, stop };
  }
  return best;
}

export function deterministicReply(input: ReplyInput): DeterministicReply {
  const hash = fnv1a32(`${input.model}\u0000${input.seed ?? ''}\u0000${input.text}`);
  const start = hash % STANDIN_WORDS.length;
  const fixed = input.fixedText ? input.fixedText.split(/\s+/).filter(Boolean) : null;
  const natural = fixed?.length ?? input.naturalTokens ?? NATURAL_MIN_TOKENS + ((hash >>> 16) % NATURAL_SPREAD_TOKENS);
  const sampled = Math.min(natural, Math.max(0, input.maxTokens));
  const tokens = Array.from({ length: sampled }, (_, i) => (i === 0 ? '' : ' ') + (fixed ? fixed[i] : STANDIN_WORDS[(start + i) % STANDIN_WORDS.length]));

  // A stop string may span tokens; like real servers, nothing from it is ever sent (held back, then dropped).
  const hit = firstStopIndex(tokens.join(''), input.stop);
  const cut = hit?.index ?? Infinity;
  const pieces: string[] = [];
  let offset = 0;
  let completionTokens = sampled;
  for (const [i, token] of tokens.entries()) {
    const piece = token.slice(0, Math.max(0, cut - offset));
    if (piece !== '') pieces.push(piece);
    offset += token.length;
    if (hit && offset >= hit.index + hit.stop.length) {
      completionTokens = i + 1;
      break;
    }
  }
  const finishReason = hit || sampled === natural ? 'stop' : 'length';
  return { pieces, text: pieces.join(''), finishReason, matchedStop: hit?.stop ?? null, completionTokens };
}

/** The stand-in's prompt token count: whitespace-separated words of every message (or the prompt). */
export function countPromptTokens(texts: readonly string[]): number {
  return texts.reduce((sum, t) => sum + t.split(/\s+/).filter(Boolean).length, 0);
}

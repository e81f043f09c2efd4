/**
 * The Ask page's conversation model and pure helpers: which models the mesh offers, the history sent with each
 * question, who answered, and how fast. No node code; the page calls `llm.chat@1.0` (contract §4.1) through the API.
 */
import type { BusView, IdentityView, PeerView, WireError } from '$lib/client/api';
import { abbreviateId } from '$lib/ui/community/format';
import type { Passage } from '$lib/ui/library/passages';

export const CHAT_CAPABILITY = 'llm.chat';
export const CHAT_VERSION = '1.0';
export const MAX_TOKENS = 512;
/** Kept under the provider's limits (200 messages, 48 000 characters) so a long conversation still gets answers. */
export const HISTORY_MESSAGES = 60;
export const HISTORY_CHARS = 24_000;

/** What the provider's `done` event carries (src/lib/llm/llm-service.ts `LlmDone`). */
export interface ChatDone {
  model?: string;
  tokens_in?: number;
  tokens_out?: number;
  stop_reason?: string;
  ms?: number;
  served_by?: string;
}

export interface UserTurn {
  id: string;
  role: 'user';
  content: string;
}

/** `waiting`: asked, no token yet; `stopped`: the person pressed Stop (later tokens are ignored). */
export type AnswerStatus = 'waiting' | 'streaming' | 'done' | 'stopped' | 'error';

export interface AssistantTurn {
  id: string;
  role: 'assistant';
  content: string;
  status: AnswerStatus;
  /** The model asked for ('' = any). */
  requested: string;
  done: ChatDone | null;
  /** From the call's trace when the `done` event did not name the provider. */
  servedBy: string | null;
  error: WireError | null;
  /** The library search behind this answer, when a collection was chosen; null for plain chat. */
  sources: Grounding | null;
}

/**
 * `searching`: `rag.query` under way; `found`: passages went into the prompt; `empty`: nothing matched; `failed`:
 * the search failed. In the last two the question goes to the model without the library.
 */
export interface Grounding {
  corpus: string;
  phase: 'searching' | 'found' | 'empty' | 'failed';
  /** Numbered as the model saw them (or, without a model, the best passages found). */
  passages: Passage[];
  error: WireError | null;
  /** No model in reach: the passages are the answer. */
  modelless: boolean;
}

export type Turn = UserTurn | AssistantTurn;

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface OfferedModel {
  model: string;
  /** Names of the devices offering it. */
  nodes: string[];
}

function modelsOf(params: Record<string, unknown> | undefined): string[] {
  const list = Array.isArray(params?.models) ? params.models.filter((m): m is string => typeof m === 'string' && m !== '') : [];
  if (list.length > 0) return list;
  return typeof params?.model === 'string' && params.model !== '' ? [params.model] : [];
}

/** The `llm.chat` offers on the mesh that can be called now (not quarantined). */
export function chatProviders(bus: BusView | null) {
  return (bus?.capabilities ?? []).filter((c) => c.name === CHAT_CAPABILITY && !c.quarantined);
}

/** Every model the mesh offers for `llm.chat`, with who offers it, sorted by name. */
export function offeredModels(bus: BusView | null): OfferedModel[] {
  const byModel = new Map<string, Set<string>>();
  for (const row of chatProviders(bus)) {
    for (const model of modelsOf(row.params as Record<string, unknown> | undefined)) {
      const nodes = byModel.get(model) ?? new Set<string>();
      nodes.add(row.nodeName || row.nodeShortId);
      byModel.set(model, nodes);
    }
  }
  return [...byModel.entries()].map(([model, nodes]) => ({ model, nodes: [...nodes].sort() })).sort((a, b) => a.model.localeCompare(b.model));
}

/**
 * The messages sent with a new question: earlier questions and the answers that came (a stopped answer's partial
 * text included), without turns whose answer failed, newest kept when the conversation is long.
 */
export function historyFor(turns: readonly Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i];
    if (turn.role === 'user') {
      const answer = turns[i + 1];
      const failed = answer?.role === 'assistant' && (answer.status === 'error' || answer.content.trim() === '');
      if (failed) {
        i++;
        continue;
      }
      messages.push({ role: 'user', content: turn.content });
    } else if (turn.content.trim() !== '') {
      messages.push({ role: 'assistant', content: turn.content });
    }
  }
  let chars = 0;
  let start = messages.length;
  while (start > 0 && messages.length - start < HISTORY_MESSAGES && chars + messages[start - 1].content.length <= HISTORY_CHARS) {
    start--;
    chars += messages[start].content.length;
  }
  // Begin with a question, as a model expects.
  while (start < messages.length && messages[start].role !== 'user') start++;
  return messages.slice(start);
}

/** Tokens per second, or null when the numbers do not allow it. */
export function tokenRate(done: ChatDone | null): number | null {
  if (!done || typeof done.tokens_out !== 'number' || typeof done.ms !== 'number' || done.ms <= 0 || done.tokens_out <= 0) return null;
  return (done.tokens_out / done.ms) * 1000;
}

export interface ServedBy {
  nodeId: string;
  name: string;
  self: boolean;
}

/** The device that answered, by the name people know it by. */
export function servedBy(nodeId: string | null, identity: IdentityView | null, peers: readonly PeerView[], bus: BusView | null): ServedBy | null {
  if (!nodeId) return null;
  if (identity && nodeId === identity.nodeId) return { nodeId, name: identity.displayName || identity.shortId, self: true };
  const peer = peers.find((p) => p.nodeId === nodeId);
  if (peer) return { nodeId, name: peer.displayName || peer.shortId, self: false };
  const row = bus?.capabilities.find((c) => c.nodeId === nodeId);
  return { nodeId, name: row?.nodeName || row?.nodeShortId || abbreviateId(nodeId), self: false };
}

/** A `done` event's data, read defensively (it crossed the mesh). */
export function readDone(data: unknown): ChatDone | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const meta = d.meta && typeof d.meta === 'object' ? (d.meta as Record<string, unknown>) : d; // a unary answer keeps it in `meta`
  return {
    model: str(meta.model),
    tokens_in: num(meta.tokens_in),
    tokens_out: num(meta.tokens_out),
    stop_reason: str(meta.stop_reason),
    ms: num(meta.ms),
    served_by: str(meta.served_by)
  };
}

/** A `token` event's text, or null. */
export function tokenText(data: unknown): string | null {
  const text = (data as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : null;
}

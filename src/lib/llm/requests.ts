/**
 * `llm.chat@1.0` and `llm.complete@1.0` requests (contract §4.1–4.2): the JSON Schemas the bus checks (types only)
 * and the checks that give a person-readable `bad_request` (ranges, roles, sizes). Defaults are the contract's.
 */
import { HearthError } from '../core/index.js';
import type { ChatMessage, ChatRole } from './engine.js';

export const DEFAULT_MAX_TOKENS = 1024;
export const MAX_MAX_TOKENS = 8192;
export const DEFAULT_TEMPERATURE = 0.7;
export const DEFAULT_TOP_P = 0.95;
export const MAX_MESSAGES = 200;
/** All message text together; a frame is 64 KiB, and a prompt longer than this belongs in a document (RAG). */
export const MAX_PROMPT_CHARS = 48_000;
export const MAX_STOP_SEQUENCES = 4;
const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

export interface SamplingOptions {
  model: string | null;
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | null;
  stream: boolean;
}

export interface ChatRequest extends SamplingOptions {
  messages: ChatMessage[];
}

export interface CompleteRequest extends SamplingOptions {
  prompt: string;
}

const SAMPLING_PROPERTIES = {
  max_tokens: { type: 'integer' },
  temperature: { type: 'number' },
  top_p: { type: 'number' },
  stop: { type: 'array', items: { type: 'string' } },
  seed: { type: ['integer', 'null'] },
  stream: { type: 'boolean' },
  tools: { type: 'array' },
  tool_choice: {}
};

const PARAMS = { type: 'object', properties: { model: { type: 'string' }, ctx: { type: 'integer' } } };

export const CHAT_REQUEST_SCHEMA = {
  type: 'object',
  required: ['input'],
  properties: {
    params: PARAMS,
    input: {
      type: 'object',
      required: ['messages'],
      properties: { messages: { type: 'array', items: { type: 'object' } }, ...SAMPLING_PROPERTIES }
    }
  }
};

export const COMPLETE_REQUEST_SCHEMA = {
  type: 'object',
  required: ['input'],
  properties: {
    params: PARAMS,
    input: { type: 'object', required: ['prompt'], properties: { prompt: { type: 'string' }, ...SAMPLING_PROPERTIES } }
  }
};

export const TOKEN_STREAM_SCHEMA = {
  type: 'object',
  required: ['event', 'data'],
  properties: { event: { const: 'token' }, data: { type: 'object', required: ['text'], properties: { text: { type: 'string' }, logprob: { type: 'number' } } } }
};

const bad = (message: string): never => {
  throw new HearthError('bad_request', message);
};

function sampling(params: Record<string, unknown> | undefined, input: Record<string, unknown>): SamplingOptions {
  const maxTokens = input.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1 || (maxTokens as number) > MAX_MAX_TOKENS) bad(`max_tokens must be a whole number from 1 to ${MAX_MAX_TOKENS}`);
  const temperature = input.temperature ?? DEFAULT_TEMPERATURE;
  if (typeof temperature !== 'number' || temperature < 0 || temperature > 2) bad('temperature must be a number from 0 to 2');
  const topP = input.top_p ?? DEFAULT_TOP_P;
  if (typeof topP !== 'number' || topP <= 0 || topP > 1) bad('top_p must be a number above 0 and at most 1');
  const stop = (input.stop ?? []) as unknown[];
  if (!Array.isArray(stop) || stop.length > MAX_STOP_SEQUENCES || stop.some((s) => typeof s !== 'string' || s === '' || s.length > 32)) {
    bad(`stop must be a list of at most ${MAX_STOP_SEQUENCES} non-empty strings of at most 32 characters`);
  }
  const seed = input.seed ?? null;
  if (seed !== null && !Number.isSafeInteger(seed)) bad('seed must be a whole number or null');
  if (input.tools !== undefined && (input.tools as unknown[]).length > 0) throw new HearthError('not_implemented', 'tool calls are not supported yet (contract §4.1: Phase 2)');
  const model = params?.model;
  if (model !== undefined && (typeof model !== 'string' || model === '' || model.length > 128)) bad('params.model must be a model name');
  return {
    model: (model as string | undefined) ?? null,
    maxTokens: maxTokens as number,
    temperature: temperature as number,
    topP: topP as number,
    stop: stop as string[],
    seed: seed as number | null,
    stream: input.stream !== false
  };
}

export function parseChatRequest(body: unknown): ChatRequest {
  const { params, input } = body as { params?: Record<string, unknown>; input: Record<string, unknown> };
  const messages = input.messages as unknown[];
  if (messages.length === 0) bad('messages must not be empty');
  if (messages.length > MAX_MESSAGES) bad(`at most ${MAX_MESSAGES} messages`);
  let chars = 0;
  const checked = messages.map((m, i): ChatMessage => {
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) bad(`messages[${i}].role must be one of ${ROLES.join(', ')}`);
    if (typeof content !== 'string') bad(`messages[${i}].content must be text`);
    chars += (content as string).length;
    return { role: role as ChatRole, content: content as string };
  });
  if (!checked.some((m) => m.role === 'user')) bad('at least one message must come from the user');
  if (checked.slice(1).some((m) => m.role === 'system')) bad('a system message may only come first');
  if (checked[checked.length - 1].role !== 'user') bad('the last message must come from the user');
  if (chars > MAX_PROMPT_CHARS) bad(`the messages hold ${chars} characters; at most ${MAX_PROMPT_CHARS}`);
  return { ...sampling(params, input), messages: checked };
}

export function parseCompleteRequest(body: unknown): CompleteRequest {
  const { params, input } = body as { params?: Record<string, unknown>; input: Record<string, unknown> };
  const prompt = input.prompt as string;
  if (prompt.trim() === '') bad('prompt must not be empty');
  if (prompt.length > MAX_PROMPT_CHARS) bad(`the prompt holds ${prompt.length} characters; at most ${MAX_PROMPT_CHARS}`);
  return { ...sampling(params, input), prompt };
}

/**
 * The OpenAI chat/completions wire, as pure functions: the request body for a GenerateRequest, and what one
 * reply chunk (streamed or whole) says. No I/O here; openai-engine.ts does the HTTP.
 */
import { HearthError } from '../../core/errors.js';
import type { GenerateRequest, StopReason } from '../engine.js';

export interface WireCall {
  /** Relative to the `/v1` base. */
  path: '/chat/completions' | '/completions';
  body: Record<string, unknown>;
  /** Characters of input, for the token estimate when the server reports no usage. */
  inputChars: number;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** What one chunk (or a whole non-streamed reply) carries. */
export interface ChunkContent {
  text: string;
  finishReason: string | null;
  /** vLLM's non-standard `stop_reason`: the stop string that ended generation, when one did. */
  matchedStop: string | null;
  usage: Usage | null;
}

/** Without a `usage` report we estimate input tokens as ceil(chars / 4): the usual rule of thumb for English BPE. */
export const CHARS_PER_TOKEN_ESTIMATE = 4;

function badRequest(message: string): HearthError {
  return new HearthError('bad_request', message);
}

export function buildGenerateCall(request: GenerateRequest): WireCall {
  const { messages, prompt } = request;
  if ((messages === undefined) === (prompt === undefined)) throw badRequest('a generation needs exactly one of messages (chat) or prompt (completion)');
  if (typeof request.model !== 'string' || request.model === '') throw badRequest('a generation needs a model name');
  if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) throw badRequest(`maxTokens must be a whole number ≥ 1, got ${request.maxTokens}`);

  const body: Record<string, unknown> = { model: request.model };
  let inputChars: number;
  let path: WireCall['path'];
  if (messages !== undefined) {
    if (messages.length === 0) throw badRequest('messages is empty — a chat needs at least one message');
    body.messages = messages.map(({ role, content }) => ({ role, content }));
    inputChars = messages.reduce((sum, m) => sum + m.content.length, 0);
    path = '/chat/completions';
  } else {
    body.prompt = prompt;
    inputChars = (prompt as string).length;
    path = '/completions';
  }
  Object.assign(body, {
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    top_p: request.topP
  });
  if (request.stop.length > 0) body.stop = request.stop;
  if (request.seed !== null) body.seed = request.seed;
  return { path, body, inputChars };
}

function malformed(why: string, data: string): HearthError {
  const sample = data.length > 120 ? `${data.slice(0, 120)}…` : data;
  return new HearthError('internal_error', `the model server sent a malformed reply (${why}): ${sample}`);
}

function readUsage(usage: unknown): Usage | null {
  const u = usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined;
  if (typeof u?.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return null;
  return { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
}

/**
 * One `data:` payload of a chat (`choices[0].delta.content`) or completion (`choices[0].text`) stream, or a
 * whole non-streamed reply (`choices[0].message.content`). An `{error}` payload mid-stream is the server
 * failing, reported as internal_error.
 */
export function readChunk(data: string): ChunkContent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw malformed('not JSON', data);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformed('not a JSON object', data);
  const chunk = parsed as { choices?: unknown; usage?: unknown; error?: unknown };
  if (chunk.error !== undefined && chunk.error !== null) {
    const e = chunk.error as { message?: unknown };
    const text = typeof e === 'string' ? e : typeof e.message === 'string' ? e.message : JSON.stringify(e);
    throw new HearthError('internal_error', `the model server failed mid-stream: ${text}`);
  }
  if (chunk.choices !== undefined && !Array.isArray(chunk.choices)) throw malformed('choices is not a list', data);

  const choice = (chunk.choices as unknown[] | undefined)?.[0] as
    | { delta?: { content?: unknown }; message?: { content?: unknown }; text?: unknown; finish_reason?: unknown; stop_reason?: unknown }
    | undefined;
  const content = choice?.delta?.content ?? choice?.message?.content ?? choice?.text;
  return {
    text: typeof content === 'string' ? content : '',
    finishReason: typeof choice?.finish_reason === 'string' ? choice.finish_reason : null,
    matchedStop: typeof choice?.stop_reason === 'string' && choice.stop_reason !== '' ? choice.stop_reason : null,
    usage: readUsage(chunk.usage)
  };
}

/**
 * OpenAI says `stop` both for a natural end and for a stop string, so 'stop_sequence' is reported only when
 * the server names the string that matched (vLLM's `stop_reason`); otherwise `stop` is 'end'. `length` is
 * 'max_tokens'. Anything else (`content_filter`, `tool_calls`, none) ends normally: 'end'.
 */
export function stopReasonOf(finishReason: string | null, matchedStop: string | null): StopReason {
  if (finishReason === 'length') return 'max_tokens';
  if (finishReason === 'stop' && matchedStop !== null) return 'stop_sequence';
  return 'end';
}

/**
 * What went wrong talking to an OpenAI-compatible server, as HearthErrors with contract codes (CONTRACT §9) and
 * messages a person can act on. Pure functions of what the server sent (or what fetch threw), so each mapping
 * is tested on its own and again over real HTTP against the stand-in.
 */
import { HearthError } from '../../core/errors.js';

/** Longest piece of a server's own error text we repeat; some servers answer with whole HTML pages. */
const SERVER_MESSAGE_MAX_CHARS = 300;

export interface FailedReply {
  status: number;
  headers: Headers;
  bodyText: string;
}

export interface ReplyContext {
  /** The URL that was called, for messages. */
  url: string;
  /** The model asked for, when the call named one. */
  model?: string;
  /** Whether this engine sent an API key (changes what a 401 means to the person reading it). */
  sentApiKey: boolean;
  nowMs: number;
}

/** The server's own error text: OpenAI `{error:{message}}`, Ollama `{error:"..."}`, vLLM `{message}`, or the raw body. */
export function serverMessage(bodyText: string): string {
  let text = bodyText.trim();
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown };
    const error = body?.error as { message?: unknown } | string | undefined;
    const found = typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : typeof body?.message === 'string' ? body.message : typeof body?.detail === 'string' ? body.detail : undefined;
    if (found !== undefined) text = found.trim();
  } catch {
    /* not JSON: the raw text is the message */
  }
  return text.length > SERVER_MESSAGE_MAX_CHARS ? `${text.slice(0, SERVER_MESSAGE_MAX_CHARS)}…` : text;
}

/** Ollama `model "x" not found`, vLLM/OpenAI `The model \`x\` does not exist`, LM Studio `Model not found`, `code: model_not_found`. */
export function saysModelIsMissing(bodyText: string): boolean {
  if (/"code"\s*:\s*"model_not_found"/.test(bodyText)) return true;
  const message = serverMessage(bodyText);
  return /\bmodel\b.{0,120}\b(not found|does not exist|not loaded|no such|unknown|not available)\b/i.test(message) || /\b(unknown|invalid|no such) model\b/i.test(message);
}

/** `Retry-After` in seconds or as an HTTP date; OpenAI-style `retry-after-ms` wins when present. */
export function retryAfterMs(headers: Headers, nowMs: number): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function withServerText(prefix: string, message: string): string {
  return message ? `${prefix}: ${message}` : prefix;
}

/** A non-2xx reply. */
export function errorFromReply(reply: FailedReply, context: ReplyContext): HearthError {
  const { status } = reply;
  const message = serverMessage(reply.bodyText);
  const path = new URL(context.url).pathname;
  const model = context.model;

  const namesMissingModel = status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status) && saysModelIsMissing(reply.bodyText);
  if (model !== undefined && namesMissingModel) {
    return new HearthError('not_implemented', `${withServerText(`the model server does not have the model "${model}" (HTTP ${status})`, message)} — load or pull it there, or pick one that models() lists`);
  }
  if (model !== undefined && status === 404) {
    // A bare 404 may be the model or the endpoint: say both, so the person can check either.
    return new HearthError('not_implemented', `${withServerText(`the model server answered HTTP 404 for ${path}`, message)} — either it does not have the model "${model}" (load or pull it, or pick one that models() lists) or baseUrl does not point at its OpenAI-compatible API`);
  }
  if (status === 404) {
    return new HearthError('not_implemented', `${withServerText(`the model server has no ${path} (HTTP 404)`, message)} — check that baseUrl points at its OpenAI-compatible API`);
  }
  if (status === 401 || status === 403) {
    const what = context.sentApiKey ? 'the server refused the API key' : 'the server wants an API key and none is configured';
    return new HearthError('unauthorized', withServerText(`${what} (HTTP ${status})`, message));
  }
  if (status === 429) {
    const wait = retryAfterMs(reply.headers, context.nowMs);
    const when = wait === undefined ? 'retry later' : `retry in ${Math.ceil(wait / 1000)} s`;
    return new HearthError('rate_limited', withServerText(`the model server is rate-limiting requests (HTTP 429); ${when}`, message), { retryAfterMs: wait });
  }
  if (status === 408) return new HearthError('timeout', withServerText('the model server timed out the request (HTTP 408)', message));
  // A busy or loading server (503) and a broken gateway (502, 504) did not run the call: the bus may try another.
  if (status === 503) {
    const wait = retryAfterMs(reply.headers, context.nowMs);
    return new HearthError('capacity_exceeded', withServerText('the model server is busy or loading a model (HTTP 503)', message), { retryAfterMs: wait });
  }
  if (status === 502) return new HearthError('partition', withServerText('a gateway could not reach the model server (HTTP 502)', message));
  if (status === 504) return new HearthError('timeout', withServerText('a gateway timed out waiting for the model server (HTTP 504)', message));
  if (status >= 400 && status < 500) return new HearthError('bad_request', withServerText(`the model server rejected the request (HTTP ${status})`, message));
  return new HearthError('internal_error', withServerText(`the model server failed (HTTP ${status})`, message));
}

/** fetch threw before any reply: refused, DNS, TLS, unreachable network. Node puts the reason in `cause.code`. */
export function errorFromNetworkFailure(err: unknown, url: string): HearthError {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return new HearthError('partition', `could not reach the model server at ${url} (${detail}) — is it running, and is the address right?`);
}

/**
 * The engine port (M04) over any OpenAI-compatible HTTP server: Ollama, llama.cpp `llama-server`, LM Studio,
 * vLLM. Web-standard APIs only (fetch, ReadableStream, TextDecoder, AbortController), so it runs in a page, a
 * worker and Node alike.
 *
 * Cancelling (`request.signal`) aborts the HTTP request — the server sees the connection close and stops
 * generating — and the generator returns `stopReason: 'cancelled'` instead of throwing.
 */
import { HearthError } from '../../core/errors.js';
import type { GenerateRequest, GenerateResult, LlmEngine, TokenChunk } from '../engine.js';
import { errorFromNetworkFailure, errorFromReply } from './http-errors.js';
import { readSseEvents } from './sse.js';
import { CHARS_PER_TOKEN_ESTIMATE, buildGenerateCall, readChunk, stopReasonOf, type Usage } from './wire.js';

/** How long to wait for the server's first byte — and, once streaming, between bytes. Loading a model from disk
 *  before the first token can take tens of seconds, so this is generous. */
export const OPENAI_REQUEST_TIMEOUT_MS = 120_000;
/** How long a `models()` answer is reused; keeps routing from hitting `/v1/models` on every call. */
export const OPENAI_MODELS_CACHE_MS = 10_000;

export interface OpenAiEngineOptions {
  /** The server, e.g. `http://127.0.0.1:11434` or `http://127.0.0.1:11434/v1`; see {@link normaliseBaseUrl}. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`; local servers usually need none. */
  apiKey?: string;
  fetch?: typeof fetch;
  requestTimeoutMs?: number;
  modelsCacheMs?: number;
}

/**
 * Trailing slashes are dropped, and `/v1` is appended unless the path already ends in it:
 * `http://h:11434`, `http://h:11434/` and `http://h:11434/v1/` all become `http://h:11434/v1`. `root` is the
 * address without that `/v1`, used in the engine id. Only http and https are accepted.
 */
export function normaliseBaseUrl(baseUrl: string): { root: string; api: string } {
  let url: URL;
  try {
    url = new URL(baseUrl.trim());
  } catch {
    throw new HearthError('bad_request', `the model server address "${baseUrl}" is not a URL (expected e.g. http://127.0.0.1:11434/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HearthError('bad_request', `the model server address "${baseUrl}" must start with http:// or https://`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  const rootPath = path.endsWith('/v1') ? path.slice(0, -3) : path;
  const root = `${url.origin}${rootPath}`;
  return { root, api: `${root}/v1` };
}

/** One HTTP exchange: its abort controller, an inactivity timer, and the caller's cancel signal linked in. */
class Exchange {
  readonly controller = new AbortController();
  timedOut = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onCancel = () => this.controller.abort();

  constructor(
    private readonly timeoutMs: number,
    private readonly cancelSignal?: AbortSignal
  ) {
    cancelSignal?.addEventListener('abort', this.onCancel, { once: true });
    this.touch();
  }

  get cancelled(): boolean {
    return this.cancelSignal?.aborted === true;
  }

  /** Bytes arrived: restart the inactivity timer. */
  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.timeoutMs);
  }

  close(): void {
    clearTimeout(this.timer);
    this.cancelSignal?.removeEventListener('abort', this.onCancel);
    this.controller.abort();
  }
}

export class OpenAiEngine implements LlmEngine {
  readonly id: string;
  private readonly api: string;
  private readonly apiKey?: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private readonly modelsCacheMs: number;
  private modelsCache: { at: number; ids: string[] } | undefined;
  private modelsInFlight: Promise<string[]> | undefined;

  constructor(options: OpenAiEngineOptions) {
    const { root, api } = normaliseBaseUrl(options.baseUrl);
    this.id = `openai:${root}`;
    this.api = api;
    this.apiKey = options.apiKey || undefined;
    // Called through a closure: a bare `window.fetch` stored on an object throws "Illegal invocation".
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = options.requestTimeoutMs ?? OPENAI_REQUEST_TIMEOUT_MS;
    this.modelsCacheMs = options.modelsCacheMs ?? OPENAI_MODELS_CACHE_MS;
  }

  async models(): Promise<string[]> {
    if (this.modelsCache && Date.now() - this.modelsCache.at < this.modelsCacheMs) return [...this.modelsCache.ids];
    this.modelsInFlight ??= this.fetchModels().finally(() => (this.modelsInFlight = undefined));
    return [...(await this.modelsInFlight)];
  }

  async *generate(request: GenerateRequest): AsyncGenerator<TokenChunk, GenerateResult, undefined> {
    const call = buildGenerateCall(request);
    const url = this.api + call.path;
    let usage: Usage | null = null;
    let yielded = 0;
    const totals = (stopReason: GenerateResult['stopReason']): GenerateResult => ({
      tokensIn: usage?.promptTokens ?? Math.ceil(call.inputChars / CHARS_PER_TOKEN_ESTIMATE),
      tokensOut: usage?.completionTokens ?? yielded,
      stopReason
    });
    if (request.signal.aborted) return totals('cancelled');

    const exchange = new Exchange(this.timeoutMs, request.signal);
    let replied = false;
    try {
      const response = await this.fetchFn(url, { method: 'POST', headers: this.headers(true), body: JSON.stringify(call.body), signal: exchange.controller.signal });
      replied = true;
      exchange.touch();
      if (!response.ok) throw await this.replyError(response, url, request.model);
      if (!response.body) throw new HearthError('internal_error', `the model server at ${url} answered with no body`);
      if (response.headers.get('content-type')?.includes('application/json')) {
        // A server (or proxy) that ignores `stream: true` sends the whole reply at once: one chunk.
        const whole = readChunk(await response.text());
        usage = whole.usage;
        if (whole.text !== '') {
          yielded++;
          yield { text: whole.text };
        }
        return totals(exchange.cancelled ? 'cancelled' : stopReasonOf(whole.finishReason, whole.matchedStop));
      }

      let finishReason: string | null = null;
      let matchedStop: string | null = null;
      let sawDone = false;
      for await (const event of readSseEvents(response.body, () => exchange.touch())) {
        if (exchange.cancelled) return totals('cancelled');
        if (event.data === '[DONE]') {
          sawDone = true;
          break;
        }
        const chunk = readChunk(event.data);
        usage = chunk.usage ?? usage;
        finishReason = chunk.finishReason ?? finishReason;
        matchedStop = chunk.matchedStop ?? matchedStop;
        if (chunk.text !== '') {
          yielded++;
          yield { text: chunk.text };
          if (exchange.cancelled) return totals('cancelled');
        }
      }
      if (!sawDone && finishReason === null) throw new HearthError('partition', `the model server closed the stream early (${url}, after ${yielded} tokens)`);
      return totals(stopReasonOf(finishReason, matchedStop));
    } catch (err) {
      if (exchange.cancelled) return totals('cancelled');
      if (exchange.timedOut) throw this.timeoutError(url, replied);
      if (err instanceof HearthError) {
        if (err.code === 'not_implemented') this.modelsCache = undefined;
        throw err;
      }
      if (!replied) throw errorFromNetworkFailure(err, url);
      throw new HearthError('partition', `the model server closed the stream early (${url}, after ${yielded} tokens): ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      exchange.close();
    }
  }

  private headers(streaming: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: streaming ? 'text/event-stream' : 'application/json' };
    if (streaming) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    return headers;
  }

  private timeoutError(url: string, replied: boolean): HearthError {
    const what = replied ? 'stopped sending' : 'sent nothing';
    return new HearthError('timeout', `the model server at ${url} ${what} for ${this.timeoutMs} ms — it may be loading a model or overloaded; raise requestTimeoutMs if that is normal for it`);
  }

  private async replyError(response: Response, url: string, model?: string): Promise<HearthError> {
    const bodyText = await response.text().catch(() => '');
    return errorFromReply({ status: response.status, headers: response.headers, bodyText }, { url, model, sentApiKey: this.apiKey !== undefined, nowMs: Date.now() });
  }

  private async fetchModels(): Promise<string[]> {
    const url = `${this.api}/models`;
    const exchange = new Exchange(this.timeoutMs);
    let replied = false;
    try {
      const response = await this.fetchFn(url, { headers: this.headers(false), signal: exchange.controller.signal });
      replied = true;
      if (!response.ok) throw await this.replyError(response, url);
      const text = await response.text();
      let data: unknown;
      try {
        data = (JSON.parse(text) as { data?: unknown }).data;
      } catch {
        data = undefined;
      }
      if (!Array.isArray(data)) throw new HearthError('internal_error', `the model server's ${url} reply has no "data" list — is this an OpenAI-compatible server?`);
      const ids = [...new Set(data.map((m) => (m as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string' && id !== ''))];
      this.modelsCache = { at: Date.now(), ids };
      return ids;
    } catch (err) {
      if (exchange.timedOut) throw this.timeoutError(url, replied);
      if (err instanceof HearthError) throw err;
      throw replied ? HearthError.from(err) : errorFromNetworkFailure(err, url);
    } finally {
      exchange.close();
    }
  }
}

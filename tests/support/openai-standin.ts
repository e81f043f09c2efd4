/**
 * A stand-in for a model server (DESIGN §4): a real HTTP server speaking the OpenAI protocol — GET /v1/models,
 * POST /v1/chat/completions and /v1/completions, streamed (SSE) or whole — whose "model" writes deterministic
 * words (deterministic-reply.ts). Each instance can be made slow, made to fail in the ways real servers fail,
 * and records every request and whether the client hung up, so tests can prove a cancel reached upstream.
 *
 * From vitest or Playwright: `const standIn = await startOpenAiStandIn({ ... })`, then `standIn.url`.
 * By hand: `npx tsx tests/support/openai-standin.ts --port 0` prints its URL.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { countPromptTokens, deterministicReply } from './deterministic-reply.js';

export type StandInFailure =
  /** Every request to /v1 answers this status and body (object → JSON) with these headers. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Accept the request and never send a byte, not even headers. */
  | { kind: 'no-first-byte' }
  /** Streams only: after N tokens, destroy the socket (a crash). */
  | { kind: 'disconnect-after'; tokens: number }
  /** Streams only: after N tokens, end the response cleanly but without finish_reason or [DONE]. */
  | { kind: 'end-after'; tokens: number }
  /** Streams only: after N tokens, send a chunk that is not JSON, then end. */
  | { kind: 'malformed-after'; tokens: number }
  /** Streams only: after N tokens, keep the connection open and send nothing more. */
  | { kind: 'stall-after'; tokens: number };

export interface StandInBehaviour {
  models: string[];
  /** Delay before each token, in ms. */
  tokenDelayMs: number;
  /** Every reply runs this many tokens unless max_tokens or a stop string ends it (default: 6–24 by input hash). */
  replyTokens: number | null;
  /** Every reply is these words (one token each) instead of the stand-in's own. */
  replyText: string | null;
  failure: StandInFailure | null;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`, else 401. */
  apiKey: string | null;
  /** Like vLLM, name the stop string that ended generation in `choices[0].stop_reason`. */
  reportStopString: boolean;
  /** Honour `stream_options.include_usage`; false acts like older servers that ignore it. */
  usage: boolean;
  /** Line ending of the SSE stream. */
  lineEnding: '\n' | '\r\n';
  /** Answer `stream: true` with a whole JSON reply, like a server or proxy that cannot stream. */
  ignoreStream: boolean;
}

export interface StandInOptions extends Partial<StandInBehaviour> {
  port?: number;
  host?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, the raw text if it was not JSON, or undefined for none. */
  body: unknown;
  tokensSent: number;
  /** The client closed the connection before the reply was complete. */
  clientDisconnected: boolean;
  /** The stand-in wrote its whole reply (complete, or broken on purpose by a failure mode). */
  finished: boolean;
}

export interface OpenAiStandIn {
  /** The OpenAI base URL, e.g. `http://127.0.0.1:40123/v1`. */
  url: string;
  origin: string;
  port: number;
  requests: RecordedRequest[];
  /** Mutable: tests change models, delays and failures between calls. */
  behaviour: StandInBehaviour;
  configure(changes: Partial<StandInBehaviour>): void;
  close(): Promise<void>;
}

export const STANDIN_MODELS = ['hearth-standin-1b', 'hearth-standin-7b'];
/** Used when a request names no max_tokens. */
const DEFAULT_MAX_TOKENS = 64;

interface ChatMessage {
  role: string;
  content: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
  res.end(text);
}

function apiError(res: ServerResponse, status: number, message: string, type: string, code: string | null = null): void {
  sendJson(res, status, { error: { message, type, param: null, code } });
}

/** The request's generation parameters, or an error message for a 400. */
function readGeneration(body: Record<string, unknown>, chat: boolean): { text: string; promptTokens: number; maxTokens: number; stop: string[]; seed: number | null } | string {
  let texts: string[];
  let text: string;
  if (chat) {
    const messages = body.messages as ChatMessage[] | undefined;
    if (!Array.isArray(messages) || messages.length === 0) return "'messages' must be a non-empty array";
    if (!messages.every((m) => typeof m?.role === 'string' && typeof m.content === 'string')) return "each message needs a string 'role' and 'content'";
    texts = messages.map((m) => m.content);
    text = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  } else {
    if (typeof body.prompt !== 'string') return "'prompt' must be a string";
    texts = [body.prompt];
    text = body.prompt;
  }
  const maxTokens = body.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) return "'max_tokens' must be a positive integer";
  const stop = body.stop === undefined || body.stop === null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string')) return "'stop' must be a string or a list of strings";
  const seed = typeof body.seed === 'number' ? body.seed : null;
  return { text, promptTokens: countPromptTokens(texts), maxTokens: maxTokens as number, stop, seed };
}

export async function startOpenAiStandIn(options: StandInOptions = {}): Promise<OpenAiStandIn> {
  const { port = 0, host = '127.0.0.1', ...given } = options;
  const overrides = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
  const behaviour: StandInBehaviour = {
    models: [...STANDIN_MODELS],
    tokenDelayMs: 0,
    replyTokens: null,
    replyText: null,
    failure: null,
    apiKey: null,
    reportStopString: true,
    usage: true,
    lineEnding: '\n',
    ignoreStream: false,
    ...overrides
  };
  const requests: RecordedRequest[] = [];
  let closing = false;
  let sequence = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Browsers call model servers from the app's origin (Ollama needs OLLAMA_ORIGINS for this; LM Studio a toggle).
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'authorization, content-type');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, OPTIONS' });
      res.end();
      return;
    }
    const path = new URL(req.url ?? '/', 'http://standin').pathname.replace(/\/+$/, '');
    const rawBody = await readBody(req);
    let body: unknown = rawBody === '' ? undefined : rawBody;
    try {
      if (rawBody !== '') body = JSON.parse(rawBody);
    } catch {
      /* recorded as text; a 400 below if the route needs JSON */
    }
    const record: RecordedRequest = { method: req.method ?? '', path, headers: req.headers, body, tokensSent: 0, clientDisconnected: false, finished: false };
    requests.push(record);
    let hungUp = false;
    res.on('finish', () => (record.finished = true));
    res.on('close', () => {
      if (!res.writableFinished && !closing && !hungUp) record.clientDisconnected = true;
    });

    const failure = behaviour.failure;
    if (failure?.kind === 'status') return sendJson(res, failure.status, failure.body ?? '', failure.headers);
    if (failure?.kind === 'no-first-byte') return;
    if (behaviour.apiKey !== null && req.headers.authorization !== `Bearer ${behaviour.apiKey}`) {
      return apiError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }

    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: behaviour.models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'standin' })) });
    }
    const chat = path === '/v1/chat/completions';
    if (req.method !== 'POST' || (!chat && path !== '/v1/completions')) return sendJson(res, 404, '404 page not found');
    if (typeof body !== 'object' || body === null) return apiError(res, 400, 'the request body must be a JSON object', 'invalid_request_error');
    const request = body as Record<string, unknown>;
    if (typeof request.model !== 'string') return apiError(res, 400, "'model' is required", 'invalid_request_error');
    if (!behaviour.models.includes(request.model)) {
      return apiError(res, 404, `model "${request.model}" not found, try pulling it first`, 'not_found_error', 'model_not_found');
    }
    const generation = readGeneration(request, chat);
    if (typeof generation === 'string') return apiError(res, 400, generation, 'invalid_request_error');

    const reply = deterministicReply({ model: request.model, ...generation, naturalTokens: behaviour.replyTokens, fixedText: behaviour.replyText });
    const usage = { prompt_tokens: generation.promptTokens, completion_tokens: reply.completionTokens, total_tokens: generation.promptTokens + reply.completionTokens };
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-standin-${++sequence}`;
    const stopReason = behaviour.reportStopString ? { stop_reason: reply.matchedStop } : {};

    if (request.stream !== true || behaviour.ignoreStream) {
      await sleep(behaviour.tokenDelayMs * reply.pieces.length);
      const choice = chat ? { index: 0, message: { role: 'assistant', content: reply.text } } : { index: 0, text: reply.text };
      record.tokensSent = reply.pieces.length;
      return sendJson(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created: 0, model: request.model, choices: [{ ...choice, finish_reason: reply.finishReason, ...stopReason }], usage });
    }

    const eol = behaviour.lineEnding;
    const frame = (payload: unknown) => res.write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}${eol}${eol}`);
    const chunk = (choice: Record<string, unknown>) => ({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created: 0, model: request.model, choices: [{ index: 0, ...choice }] });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`: hearthnet openai stand-in${eol}${eol}`);
    if (chat) frame(chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }));

    for (let i = 0; ; i++) {
      if (res.destroyed) return;
      if (failure && 'tokens' in failure && failure.tokens === i) {
        if (failure.kind === 'disconnect-after') {
          hungUp = true;
          // Let the tokens already written reach the client first; destroy() would discard them.
          await new Promise((resolve) => res.write(`: crashing${eol}`, resolve));
          res.socket?.destroy();
        } else if (failure.kind === 'end-after') {
          hungUp = true;
          res.end();
        } else if (failure.kind === 'malformed-after') {
          hungUp = true;
          frame('{"choices":[{"delta":{"content":"unfinished');
          res.end();
        }
        return; // stall-after: leave it open; close() or the client ends it
      }
      if (i === reply.pieces.length) break;
      if (behaviour.tokenDelayMs > 0) await sleep(behaviour.tokenDelayMs);
      if (res.destroyed) return;
      const piece = reply.pieces[i];
      frame(chunk(chat ? { delta: { content: piece }, finish_reason: null } : { text: piece, finish_reason: null }));
      record.tokensSent++;
    }
    frame(chunk(chat ? { delta: {}, finish_reason: reply.finishReason, ...stopReason } : { text: '', finish_reason: reply.finishReason, ...stopReason }));
    const streamOptions = request.stream_options as { include_usage?: unknown } | undefined;
    if (behaviour.usage && streamOptions?.include_usage === true) frame({ ...chunk({}), choices: [], usage });
    frame('[DONE]');
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(err), type: 'server_error' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  return {
    url: `${origin}/v1`,
    origin,
    port: address.port,
    requests,
    behaviour,
    configure(changes) {
      Object.assign(behaviour, changes);
    },
    async close() {
      closing = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
}

/** `npx tsx tests/support/openai-standin.ts [--port N] [--host H] [--models a,b] [--token-delay-ms N] [--api-key K]` */
async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const standIn = await startOpenAiStandIn({
    port: Number(arg('port') ?? 0),
    host: arg('host') ?? '127.0.0.1',
    models: arg('models')?.split(',').filter(Boolean),
    tokenDelayMs: Number(arg('token-delay-ms') ?? 0),
    replyTokens: arg('reply-tokens') === undefined ? null : Number(arg('reply-tokens')),
    apiKey: arg('api-key') ?? null
  });
  console.log(standIn.url);
  console.error(`OpenAI stand-in serving ${standIn.behaviour.models.join(', ')}; Ctrl-C to stop`);
  const stop = () => void standIn.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

export { STANDIN_TEXT, STANDIN_WORDS, countPromptTokens, deterministicReply, type DeterministicReply } from './deterministic-reply.js';

/**
 * The OpenAI-compatible engine against the stand-in model server over real HTTP (DESIGN §4): only the model
 * server is replaced; fetch, sockets and SSE framing are real.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import type { GenerateRequest, GenerateResult, TokenChunk } from '../../../src/lib/llm/engine.js';
import { OpenAiEngine } from '../../../src/lib/llm/openai/openai-engine.js';
import { countPromptTokens, deterministicReply } from '../../support/deterministic-reply.js';
import { startOpenAiStandIn, STANDIN_MODELS, type OpenAiStandIn, type StandInBehaviour } from '../../support/openai-standin.js';

let standIn: OpenAiStandIn;
let defaults: StandInBehaviour;

beforeAll(async () => {
  standIn = await startOpenAiStandIn();
  defaults = structuredClone(standIn.behaviour);
});
afterAll(() => standIn.close());
beforeEach(() => {
  standIn.configure(structuredClone(defaults));
  standIn.requests.length = 0;
});

const QUESTION = 'What keeps the street talking?';
const CHAT = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: QUESTION }
];

function engine(options: Partial<ConstructorParameters<typeof OpenAiEngine>[0]> = {}): OpenAiEngine {
  return new OpenAiEngine({ baseUrl: standIn.url, ...options });
}

function chat(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return { model: STANDIN_MODELS[0], messages: CHAT, maxTokens: 64, temperature: 0.7, topP: 0.95, stop: [], seed: 42, signal: new AbortController().signal, ...over };
}

async function run(generation: AsyncGenerator<TokenChunk, GenerateResult>): Promise<{ chunks: string[]; text: string; result: GenerateResult }> {
  const chunks: string[] = [];
  for (;;) {
    const step = await generation.next();
    if (step.done) return { chunks, text: chunks.join(''), result: step.value };
    chunks.push(step.value.text);
  }
}

/** Runs the generation to its failure; returns the error and the tokens that came before it. */
async function failure(generation: AsyncGenerator<TokenChunk, GenerateResult>): Promise<HearthError & { chunksBefore: number }> {
  let chunksBefore = 0;
  try {
    for await (const _ of generation) chunksBefore++;
  } catch (err) {
    expect(err).toBeInstanceOf(HearthError);
    return Object.assign(err as HearthError, { chunksBefore });
  }
  throw new Error('expected the generation to fail');
}

async function rejection(promise: Promise<unknown>): Promise<HearthError> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e
  );
  expect(err).toBeInstanceOf(HearthError);
  return err as HearthError;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('OpenAiEngine: models', () => {
  it('lists data[].id from /v1/models, with or without /v1 in baseUrl', async () => {
    expect(await engine().models()).toEqual(STANDIN_MODELS);
    const bare = engine({ baseUrl: `${standIn.origin}/` });
    expect(bare.id).toBe(`openai:${standIn.origin}`);
    expect(await bare.models()).toEqual(STANDIN_MODELS);
    expect(standIn.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models', 'GET /v1/models']);
  });

  it('reuses a recent answer (one request for concurrent and repeated calls) and asks again once it is stale', async () => {
    const cached = engine({ modelsCacheMs: 60_000 });
    await Promise.all([cached.models(), cached.models()]);
    standIn.configure({ models: ['newly-pulled'] });
    expect(await cached.models()).toEqual(STANDIN_MODELS);
    expect(standIn.requests).toHaveLength(1);
    expect(await engine({ modelsCacheMs: 0 }).models()).toEqual(['newly-pulled']);
  });

  it('maps failures the same way generate does', async () => {
    standIn.configure({ failure: { kind: 'status', status: 500, body: { error: { message: 'boom' } } } });
    expect((await rejection(engine().models())).code).toBe('internal_error');
    const port = await closedPort();
    const refused = await rejection(new OpenAiEngine({ baseUrl: `http://127.0.0.1:${port}` }).models());
    expect([refused.code, refused.message]).toEqual(['partition', expect.stringContaining(`http://127.0.0.1:${port}/v1/models`)]);
  });
});

describe('OpenAiEngine: generation', () => {
  it('streams a chat reply token by token with the exact deterministic text and usage', async () => {
    const { chunks, text, result } = await run(engine().generate(chat()));
    expect(text).toBe('the bakery keeps a list of who needs bread, and the radio in the garage repeats');
    expect(chunks).toHaveLength(16); // the empty role delta that opens a chat stream is not a token
    expect(result).toEqual({ tokensIn: countPromptTokens(CHAT.map((m) => m.content)), tokensOut: 16, stopReason: 'end' });
    const sent = standIn.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toEqual({ model: STANDIN_MODELS[0], messages: CHAT, stream: true, stream_options: { include_usage: true }, max_tokens: 64, temperature: 0.7, top_p: 0.95, seed: 42 });
  });

  it('streams a completion from /v1/completions', async () => {
    const { text, result } = await run(engine().generate(chat({ model: STANDIN_MODELS[1], messages: undefined, prompt: 'Once upon a time', seed: 7 })));
    expect(text).toBe('A kettle on the third floor knows the weather, the bakery keeps a list of who needs bread, and the radio in the');
    expect(result).toEqual({ tokensIn: 4, tokensOut: 23, stopReason: 'end' });
    expect(standIn.requests[0]).toMatchObject({ path: '/v1/completions', body: { prompt: 'Once upon a time', seed: 7 } });
  });

  it('gives the same text for the same seed and input, and another for another seed', async () => {
    const first = await run(engine().generate(chat()));
    const again = await run(engine().generate(chat()));
    const other = await run(engine().generate(chat({ seed: 43 })));
    expect(again.chunks).toEqual(first.chunks);
    expect(other.text).not.toBe(first.text);
  });

  it("stops at maxTokens with stopReason 'max_tokens'", async () => {
    const { chunks, result } = await run(engine().generate(chat({ maxTokens: 3 })));
    expect(chunks).toEqual(['the', ' bakery', ' keeps']);
    expect(result).toMatchObject({ tokensOut: 3, stopReason: 'max_tokens' });
  });

  it("stops at a stop string (even one spanning tokens): 'stop_sequence' when the server names it, else 'end'", async () => {
    const { text, result } = await run(engine().generate(chat({ stop: ['needs bread'] })));
    expect(text).toBe('the bakery keeps a list of who ');
    const expected = deterministicReply({ model: STANDIN_MODELS[0], text: QUESTION, seed: 42, maxTokens: 64, stop: ['needs bread'] });
    expect(result).toMatchObject({ tokensOut: expected.completionTokens, stopReason: 'stop_sequence' });
    expect(standIn.requests[0].body).toMatchObject({ stop: ['needs bread'] });

    standIn.configure({ reportStopString: false });
    expect((await run(engine().generate(chat({ stop: ['needs bread'] })))).result.stopReason).toBe('end');
  });

  it('without a usage report, counts yielded tokens and estimates input as ceil(chars / 4)', async () => {
    standIn.configure({ usage: false });
    const { chunks, result } = await run(engine().generate(chat()));
    const chars = CHAT.reduce((sum, m) => sum + m.content.length, 0);
    expect(result).toEqual({ tokensIn: Math.ceil(chars / 4), tokensOut: chunks.length, stopReason: 'end' });
  });

  it('reads CRLF streams and servers that ignore stream:true the same way', async () => {
    const plain = await run(engine().generate(chat()));
    standIn.configure({ lineEnding: '\r\n' });
    expect(await run(engine().generate(chat()))).toEqual(plain);
    standIn.configure({ lineEnding: '\n', ignoreStream: true });
    const whole = await run(engine().generate(chat()));
    expect([whole.text, whole.result]).toEqual([plain.text, plain.result]);
  });

  it('sends the API key as a bearer token', async () => {
    standIn.configure({ apiKey: 'sesame' });
    await run(engine({ apiKey: 'sesame' }).generate(chat()));
    expect(standIn.requests[0].headers.authorization).toBe('Bearer sesame');
  });
});

describe('OpenAiEngine: cancellation', () => {
  it("returns 'cancelled' within 200 ms of the abort, and the server sees the connection close", async () => {
    standIn.configure({ tokenDelayMs: 300 });
    const controller = new AbortController();
    const generation = engine().generate(chat({ signal: controller.signal }));
    const first = await generation.next();
    expect(first.value).toEqual({ text: 'the' });
    const pending = generation.next(); // waiting on the next token, 300 ms away
    await new Promise((resolve) => setTimeout(resolve, 20));
    const abortedAt = performance.now();
    controller.abort();
    const step = await pending;
    expect(performance.now() - abortedAt).toBeLessThan(200);
    // Cancelled before the usage report: tokens are counted and input estimated (ceil(44 chars / 4)).
    expect(step).toEqual({ done: true, value: { tokensIn: 11, tokensOut: 1, stopReason: 'cancelled' } });
    await vi.waitFor(() => expect(standIn.requests[0].clientDisconnected).toBe(true), { timeout: 1000, interval: 10 });
    expect(standIn.requests[0].tokensSent).toBe(1);
  });

  it('makes no request when already aborted, and closes the connection when the consumer stops early', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await run(engine().generate(chat({ signal: controller.signal })))).result.stopReason).toBe('cancelled');
    expect(standIn.requests).toHaveLength(0);

    standIn.configure({ tokenDelayMs: 50 });
    for await (const chunk of engine().generate(chat())) {
      expect(chunk.text).toBe('the');
      break;
    }
    await vi.waitFor(() => expect(standIn.requests[0].clientDisconnected).toBe(true), { timeout: 1000, interval: 10 });
  });
});

describe('OpenAiEngine: errors', () => {
  it('refused connection → partition naming the URL', async () => {
    const port = await closedPort();
    const err = await failure(new OpenAiEngine({ baseUrl: `http://127.0.0.1:${port}/v1` }).generate(chat()));
    expect(err.code).toBe('partition');
    expect(err.message).toContain(`http://127.0.0.1:${port}/v1/chat/completions`);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('a model the server does not have → not_implemented naming the model', async () => {
    const err = await failure(engine().generate(chat({ model: 'llama-9000' })));
    expect(err.code).toBe('not_implemented');
    expect(err.message).toContain('"llama-9000"');
    expect(err.message).toContain('not found, try pulling it first');
  });

  it("400 → bad_request with the server's message", async () => {
    standIn.configure({ failure: { kind: 'status', status: 400, body: { error: { message: "'max_tokens' exceeds the context window (4096)" } } } });
    const err = await failure(engine().generate(chat()));
    expect([err.code, err.message]).toEqual(['bad_request', "the model server rejected the request (HTTP 400): 'max_tokens' exceeds the context window (4096)"]);
  });

  it('401 → unauthorized: a wrong key is refused, a missing one is asked for', async () => {
    standIn.configure({ apiKey: 'sesame' });
    const wrong = await failure(engine({ apiKey: 'guess' }).generate(chat()));
    expect([wrong.code, wrong.message]).toEqual(['unauthorized', 'the server refused the API key (HTTP 401): Incorrect API key provided.']);
    expect((await failure(engine().generate(chat()))).message).toMatch(/none is configured/);
  });

  it('429 → rate_limited carrying Retry-After', async () => {
    standIn.configure({ failure: { kind: 'status', status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'slow down' } } } });
    const err = await failure(engine().generate(chat()));
    expect([err.code, err.retryAfterMs, err.retryable]).toEqual(['rate_limited', 7000, true]);
    expect(err.message).toContain('retry in 7 s');
  });

  it('500 → internal_error', async () => {
    standIn.configure({ failure: { kind: 'status', status: 500, body: { error: { message: 'CUDA error: out of memory' } } } });
    const err = await failure(engine().generate(chat()));
    expect([err.code, err.message]).toEqual(['internal_error', 'the model server failed (HTTP 500): CUDA error: out of memory']);
  });

  it('a busy server (503) and broken gateways (502, 504) say the call did not run, so the bus may try another provider', async () => {
    standIn.configure({ failure: { kind: 'status', status: 503, body: { error: { message: 'loading model' } }, headers: { 'retry-after': '3' } } });
    const busy = await failure(engine().generate(chat()));
    expect([busy.code, busy.retryAfterMs]).toEqual(['capacity_exceeded', 3000]);
    expect(busy.message).toContain('loading model');
    standIn.configure({ failure: { kind: 'status', status: 502, body: 'bad gateway' } });
    expect((await failure(engine().generate(chat()))).code).toBe('partition');
    standIn.configure({ failure: { kind: 'status', status: 504, body: 'gateway timeout' } });
    expect((await failure(engine().generate(chat()))).code).toBe('timeout');
  });

  it('a stream cut off (socket destroyed, or ended without finish_reason/[DONE]) → partition after the tokens it sent', async () => {
    standIn.configure({ failure: { kind: 'disconnect-after', tokens: 2 } });
    const crashed = await failure(engine().generate(chat()));
    expect([crashed.code, crashed.chunksBefore]).toEqual(['partition', 2]);
    expect(crashed.message).toContain('the model server closed the stream early');

    standIn.configure({ failure: { kind: 'end-after', tokens: 3 } });
    const ended = await failure(engine().generate(chat()));
    expect([ended.code, ended.chunksBefore]).toEqual(['partition', 3]);
    expect(ended.message).toContain('the model server closed the stream early');
  });

  it('a malformed chunk → internal_error', async () => {
    standIn.configure({ failure: { kind: 'malformed-after', tokens: 1 } });
    const err = await failure(engine().generate(chat()));
    expect([err.code, err.chunksBefore]).toEqual(['internal_error', 1]);
    expect(err.message).toMatch(/malformed reply \(not JSON\)/);
  });

  it('no first byte within requestTimeoutMs → timeout, and the request is dropped', async () => {
    standIn.configure({ failure: { kind: 'no-first-byte' } });
    const started = performance.now();
    const err = await failure(engine({ requestTimeoutMs: 150 }).generate(chat()));
    expect(err.code).toBe('timeout');
    expect(err.message).toContain('sent nothing for 150 ms');
    expect(performance.now() - started).toBeLessThan(1000);
    await vi.waitFor(() => expect(standIn.requests[0].clientDisconnected).toBe(true), { timeout: 1000, interval: 10 });
    expect((await rejection(engine({ requestTimeoutMs: 150 }).models())).code).toBe('timeout');
  });

  it('a stream that stalls mid-way for requestTimeoutMs → timeout', async () => {
    standIn.configure({ failure: { kind: 'stall-after', tokens: 2 } });
    const err = await failure(engine({ requestTimeoutMs: 150 }).generate(chat()));
    expect([err.code, err.chunksBefore]).toEqual(['timeout', 2]);
    expect(err.message).toContain('stopped sending for 150 ms');
  });
});

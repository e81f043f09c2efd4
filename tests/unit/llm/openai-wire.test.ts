import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import type { GenerateRequest } from '../../../src/lib/llm/engine.js';
import { errorFromReply, retryAfterMs, saysModelIsMissing, serverMessage, type ReplyContext } from '../../../src/lib/llm/openai/http-errors.js';
import { normaliseBaseUrl } from '../../../src/lib/llm/openai/openai-engine.js';
import { buildGenerateCall, readChunk, stopReasonOf } from '../../../src/lib/llm/openai/wire.js';

const NOW = Date.parse('2025-01-01T00:00:00Z');

function reply(status: number, body: unknown = '', headers: Record<string, string> = {}) {
  return { status, headers: new Headers(headers), bodyText: typeof body === 'string' ? body : JSON.stringify(body) };
}
const context: ReplyContext = { url: 'http://127.0.0.1:11434/v1/chat/completions', model: 'qwen2.5-7b', sentApiKey: true, nowMs: NOW };

function request(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return { model: 'm', messages: [{ role: 'user', content: 'hi there' }], maxTokens: 8, temperature: 0.2, topP: 0.9, stop: [], seed: null, signal: new AbortController().signal, ...over };
}

function thrown(fn: () => unknown): HearthError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HearthError) return err;
    throw err;
  }
  throw new Error('expected a HearthError');
}

describe('OpenAI wire: base URL', () => {
  it('appends /v1 unless present and drops trailing slashes', () => {
    expect(normaliseBaseUrl('http://127.0.0.1:11434')).toEqual({ root: 'http://127.0.0.1:11434', api: 'http://127.0.0.1:11434/v1' });
    expect(normaliseBaseUrl('http://127.0.0.1:11434/')).toEqual({ root: 'http://127.0.0.1:11434', api: 'http://127.0.0.1:11434/v1' });
    expect(normaliseBaseUrl('http://127.0.0.1:11434/v1/')).toEqual({ root: 'http://127.0.0.1:11434', api: 'http://127.0.0.1:11434/v1' });
    expect(normaliseBaseUrl('https://gpu.lan/llm/v1')).toEqual({ root: 'https://gpu.lan/llm', api: 'https://gpu.lan/llm/v1' });
  });

  it('refuses what is not an http(s) URL, saying what was expected', () => {
    expect(thrown(() => normaliseBaseUrl('localhost:11434')).message).toMatch(/http/);
    expect(thrown(() => normaliseBaseUrl('not a url')).code).toBe('bad_request');
  });
});

describe('OpenAI wire: request body', () => {
  it('sends stream, usage, sampling, stop and seed; leaves stop and seed out when unset', () => {
    expect(buildGenerateCall(request({ stop: ['\n\n'], seed: 3 }))).toEqual({
      path: '/chat/completions',
      inputChars: 8,
      body: { model: 'm', messages: [{ role: 'user', content: 'hi there' }], stream: true, stream_options: { include_usage: true }, max_tokens: 8, temperature: 0.2, top_p: 0.9, stop: ['\n\n'], seed: 3 }
    });
    const body = buildGenerateCall(request({ messages: undefined, prompt: 'abc' })).body;
    expect(body).toMatchObject({ prompt: 'abc' });
    expect(body).not.toHaveProperty('stop');
    expect(body).not.toHaveProperty('seed');
  });

  it('refuses requests with neither or both of messages and prompt, empty messages, or a bad maxTokens', () => {
    expect(thrown(() => buildGenerateCall(request({ prompt: 'x' }))).code).toBe('bad_request');
    expect(thrown(() => buildGenerateCall(request({ messages: undefined }))).code).toBe('bad_request');
    expect(thrown(() => buildGenerateCall(request({ messages: [] }))).message).toMatch(/messages is empty/);
    expect(thrown(() => buildGenerateCall(request({ maxTokens: 0 }))).message).toMatch(/maxTokens/);
  });
});

describe('OpenAI wire: chunks and stop reasons', () => {
  it('reads chat deltas, completion text, whole replies, finish reasons and usage', () => {
    expect(readChunk('{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}')).toEqual({ text: 'Hi', finishReason: null, matchedStop: null, usage: null });
    expect(readChunk('{"choices":[{"text":" there","finish_reason":"length"}]}')).toMatchObject({ text: ' there', finishReason: 'length' });
    expect(readChunk('{"choices":[{"message":{"content":"all"},"finish_reason":"stop","stop_reason":"\\n"}]}')).toMatchObject({ text: 'all', matchedStop: '\n' });
    expect(readChunk('{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}')).toMatchObject({ text: '', usage: { promptTokens: 5, completionTokens: 9 } });
    expect(readChunk('{"choices":[{"delta":{"role":"assistant","content":null}}]}').text).toBe('');
  });

  it('reports malformed chunks and mid-stream {error} payloads as internal_error', () => {
    expect(thrown(() => readChunk('{"choices":[{"delta":')).message).toMatch(/malformed reply \(not JSON\)/);
    expect(thrown(() => readChunk('[1,2]')).code).toBe('internal_error');
    expect(thrown(() => readChunk('{"choices":{}}')).code).toBe('internal_error');
    const midStream = thrown(() => readChunk('{"error":{"message":"CUDA out of memory"}}'));
    expect([midStream.code, midStream.message]).toEqual(['internal_error', 'the model server failed mid-stream: CUDA out of memory']);
  });

  it("maps length → max_tokens, stop with a named stop string → stop_sequence, else 'end'", () => {
    expect(stopReasonOf('length', null)).toBe('max_tokens');
    expect(stopReasonOf('stop', '###')).toBe('stop_sequence');
    expect(stopReasonOf('stop', null)).toBe('end');
    expect(stopReasonOf('content_filter', null)).toBe('end');
    expect(stopReasonOf(null, null)).toBe('end');
  });
});

describe('OpenAI wire: HTTP errors', () => {
  it("finds the server's message in OpenAI, Ollama, vLLM and plain-text bodies", () => {
    expect(serverMessage('{"error":{"message":"bad thing"}}')).toBe('bad thing');
    expect(serverMessage('{"error":"ollama says"}')).toBe('ollama says');
    expect(serverMessage('{"object":"error","message":"vllm says"}')).toBe('vllm says');
    expect(serverMessage(' 404 page not found\n')).toBe('404 page not found');
    expect(serverMessage('x'.repeat(1000))).toHaveLength(301);
  });

  it('recognises "model not found" in the ways servers say it', () => {
    expect(saysModelIsMissing('{"error":"model \\"llama3\\" not found, try pulling it first"}')).toBe(true);
    expect(saysModelIsMissing('{"object":"error","message":"The model `x` does not exist.","code":404}')).toBe(true);
    expect(saysModelIsMissing('{"error":{"message":"nope","code":"model_not_found"}}')).toBe(true);
    expect(saysModelIsMissing('{"error":{"message":"max_tokens must be at least 1"}}')).toBe(false);
  });

  it('reads Retry-After as seconds, as an HTTP date, and retry-after-ms first', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }), NOW)).toBe(7000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(NOW + 30_000).toUTCString() }), NOW)).toBe(30_000);
    expect(retryAfterMs(new Headers({ 'retry-after': '7', 'retry-after-ms': '1500' }), NOW)).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers(), NOW)).toBeUndefined();
  });

  it('maps statuses onto contract codes with messages that say what to do', () => {
    const code = (status: number, body: unknown = '', ctx = context) => errorFromReply(reply(status, body), ctx).code;
    expect(code(400, { error: { message: 'model "qwen2.5-7b" not found' } })).toBe('not_implemented');
    expect(code(400, { error: { message: 'stop has too many entries' } })).toBe('bad_request');
    expect(code(422, { detail: 'validation' })).toBe('bad_request');
    expect(code(408)).toBe('timeout');
    expect(code(502)).toBe('partition'); // a gateway that could not reach the server: the call did not run
    expect(code(404, '404 page not found', { ...context, model: undefined })).toBe('not_implemented');
    expect(errorFromReply(reply(404, '404 page not found'), context).message).toMatch(/HTTP 404 for \/v1\/chat\/completions.*"qwen2\.5-7b".*baseUrl/);
    expect(errorFromReply(reply(404, '404 page not found'), { ...context, model: undefined }).message).toMatch(/has no \/v1\/chat\/completions.*check that baseUrl/);
    expect(errorFromReply(reply(401), { ...context, sentApiKey: false }).message).toMatch(/wants an API key and none is configured/);
  });
});

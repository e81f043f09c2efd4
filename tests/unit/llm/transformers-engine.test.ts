/**
 * The transformers.js engine (M04) run for real: transformers.js + onnxruntime-node on a tiny generated llama
 * (tests/support/tiny-causal-lm.ts) whose greedy answer is known — loaded from a directory and from a model mirror
 * over HTTP, streamed token by token, stopped by EOS, max_tokens, stop sequences and cancels, sampled with seeds,
 * and offered as llm.chat / llm.complete through the LLM service. The pure parts (sampling, incremental decoding,
 * stop scanning) have known-answer checks at the end.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import type { GenerateRequest, GenerateResult, TokenChunk } from '../../../src/lib/llm/engine.js';
import { LlmService } from '../../../src/lib/llm/llm-service.js';
import { TransformersEngine, type TransformersEngineOptions, type TransformersLoadProgress } from '../../../src/lib/llm/transformers/index.js';
import { pickToken, seededRandom } from '../../../src/lib/llm/transformers/sampling.js';
import { StopMatcher } from '../../../src/lib/llm/stop-matcher.js';
import { IncrementalDecoder } from '../../../src/lib/llm/transformers/token-text.js';
import type { StreamEvent } from '../../../src/lib/transport/index.js';
import { SELF, makeBus } from '../bus/harness.js';
import { TINY_CHAT_ANSWER, TINY_VOCAB, writeTinyCausalLm } from '../../support/tiny-causal-lm.js';

const MODEL = 'hearth/tiny-llama';
let root: string;
let engine: TransformersEngine;
let loadMs = 0;
const progress: TransformersLoadProgress[] = [];

function request(extra: Partial<GenerateRequest>): GenerateRequest {
  return { model: MODEL, maxTokens: 64, temperature: 0, topP: 1, stop: [], seed: null, signal: new AbortController().signal, ...extra };
}

const chat = (content: string, extra: Partial<GenerateRequest> = {}) => request({ messages: [{ role: 'user', content }], ...extra });

async function run(target: TransformersEngine, req: GenerateRequest): Promise<{ chunks: TokenChunk[]; text: string; result: GenerateResult }> {
  const chunks: TokenChunk[] = [];
  const generation = target.generate(req);
  for (;;) {
    const next = await generation.next();
    if (next.done) return { chunks, text: chunks.map((c) => c.text).join(''), result: next.value };
    chunks.push(next.value);
  }
}

function localEngine(dir: string, extra: Partial<TransformersEngineOptions> = {}) {
  return new TransformersEngine({ model: MODEL, source: { localPath: dir }, dtype: 'fp32', ...extra });
}

async function loadFailure(target: TransformersEngine): Promise<HearthError> {
  const err = await target.load().then(
    () => null,
    (e: unknown) => e
  );
  expect(err).toBeInstanceOf(HearthError);
  return err as HearthError;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hearth-tfjs-'));
  writeTinyCausalLm(join(root, 'tiny'), { dtypes: ['fp32', 'q4'] });
  engine = localEngine(join(root, 'tiny'));
  expect(await engine.models()).toEqual([]);
  const started = performance.now();
  await engine.load((p) => progress.push(p));
  loadMs = performance.now() - started;
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('TransformersEngine on a real (tiny) model', () => {
  it('loads from a directory, reports progress per file, and offers the model only once loaded', async () => {
    expect(engine.id).toBe(`transformers:${MODEL}`);
    expect(await engine.models()).toEqual([MODEL]);
    expect(progress.find((p) => p.file === 'onnx/model.onnx')).toMatchObject({ fraction: 1 });
    expect(progress.every((p) => p.fraction >= 0 && p.fraction <= 1 && p.loaded <= p.total)).toBe(true);
    console.info(`[transformers] tiny model loaded in ${loadMs.toFixed(0)} ms (first load includes importing transformers.js)`);
  });

  it('greedy chat gives the known answer, streamed one token per chunk, and ends at EOS', async () => {
    const { chunks, text, result } = await run(engine, chat('How do I purify water?'));
    expect(text).toBe(TINY_CHAT_ANSWER);
    expect(chunks.map((c) => c.text)).toEqual(['Boil', ' water', ' for', ' one', ' minute', '.']);
    // "<s><|user|>How do I purify water?<|end|><|assistant|>": <s> <|user|> <unk> do I <unk> water ? <|end|> <|assistant|>
    expect(result).toEqual({ tokensIn: 10, tokensOut: 6, stopReason: 'end' });
    for (const chunk of chunks) expect(chunk.logprob).toBeLessThan(0);
  });

  it('a completion prompt is continued, with the leading space the tokens carry', async () => {
    const { text, result } = await run(engine, request({ prompt: 'Boil' }));
    expect(text).toBe(' water for one minute.');
    expect(result).toEqual({ tokensIn: 2, tokensOut: 5, stopReason: 'end' });
  });

  it('stops at maxTokens with max_tokens, also for a model that would never stop', async () => {
    expect((await run(engine, chat('water?', { maxTokens: 3 }))).text).toBe('Boil water for');
    const sing = await run(engine, request({ prompt: 'Please sing', maxTokens: 4 }));
    expect(sing.text).toBe(' la la la la');
    expect(sing.result).toMatchObject({ tokensOut: 4, stopReason: 'max_tokens' });
  });

  it('cuts the text at a stop sequence, holding back text that might begin one', async () => {
    const one = await run(engine, chat('water?', { stop: [' one'] }));
    expect(one.text).toBe('Boil water for');
    expect(one.result).toMatchObject({ tokensOut: 4, stopReason: 'stop_sequence' });
    // "r o" spans two tokens (" for", " one"). The "r" ending " water" might begin it: held back, then shown with
    // " fo" when " for" shows it was not; the "r" ending " for" is held back and dropped with the stop.
    const spanning = await run(engine, chat('water?', { stop: ['zzz', 'r o'] }));
    expect(spanning.chunks.map((c) => c.text)).toEqual(['Boil', ' wate', 'r fo']);
    expect(spanning.result.stopReason).toBe('stop_sequence');
    // A held-back prefix that turns out not to be a stop is shown after all.
    const almost = await run(engine, chat('water?', { stop: ['minute!'] }));
    expect(almost.text).toBe(TINY_CHAT_ANSWER);
    expect(almost.result.stopReason).toBe('end');
  });

  it('never streams half a character: "é" split over two byte tokens arrives whole', async () => {
    const { chunks, result } = await run(engine, request({ prompt: 'Coffee at the' }));
    expect(chunks.map((c) => c.text)).toEqual([' caf', 'é', '.']);
    expect(result).toMatchObject({ tokensOut: 4, stopReason: 'end' });
  });

  it('falls back to a "role: content" transcript for a tokenizer without a chat template', async () => {
    writeTinyCausalLm(join(root, 'plain'), { chatTemplate: false });
    const plain = localEngine(join(root, 'plain'));
    await plain.load();
    // "user: Boil?\nassistant:" — the tiny model answers after the final ":".
    const { text, result } = await run(plain, chat('Boil?'));
    expect(text).toBe(` ${TINY_CHAT_ANSWER}`);
    expect(result.stopReason).toBe('end');
  });

  it('a chat template that refuses the conversation makes it a bad_request', async () => {
    writeTinyCausalLm(join(root, 'strict'), { chatTemplate: "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ bos_token }}<|assistant|>" });
    const strict = localEngine(join(root, 'strict'));
    await strict.load();
    const refused = run(strict, request({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'water?' }] }));
    await expect(refused).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('System role not supported') });
    expect((await run(strict, chat('water?'))).text).toBe(TINY_CHAT_ANSWER);
  });

  it('samples from the seed: the same seed gives the same tokens, another seed others; top-p narrows to the likely', async () => {
    const sampled = (seed: number, topP = 1) => run(engine, request({ prompt: 'Please sing', maxTokens: 24, temperature: 1, topP, seed })).then((r) => r.text);
    const first = await sampled(42);
    expect(await sampled(42)).toBe(first);
    expect(await sampled(43)).not.toBe(first);
    expect(first).not.toBe(' la'.repeat(24)); // p(" la") ≈ 0.44 per step at temperature 1
    // The likeliest token alone holds ≈ 0.44 of the mass, so top_p 0.4 keeps only it: greedy, whatever the seed.
    expect(await sampled(7, 0.4)).toBe(' la'.repeat(24));
    // Temperature 0 is greedy even though the model's generation_config.json says do_sample: true.
    expect((await run(engine, chat('water?', { seed: 1 }))).text).toBe(TINY_CHAT_ANSWER);
  });

  it('cancelling mid-generation returns cancelled within 200 ms and frees the engine', async () => {
    const controller = new AbortController();
    const generation = engine.generate(request({ prompt: 'Please sing', maxTokens: 8192, signal: controller.signal }));
    let received = 0;
    let abortedAt = 0;
    let result: GenerateResult | null = null;
    for (;;) {
      const next = await generation.next();
      if (next.done) {
        result = next.value;
        break;
      }
      if (++received === 20) {
        abortedAt = performance.now();
        controller.abort();
      }
    }
    const elapsed = performance.now() - abortedAt;
    expect(result.stopReason).toBe('cancelled');
    expect(result.tokensOut).toBeLessThan(100);
    expect(elapsed).toBeLessThan(200);
    const after = performance.now();
    expect((await run(engine, chat('water?'))).text).toBe(TINY_CHAT_ANSWER);
    expect(performance.now() - after).toBeLessThan(1000);
  });

  it('a call cancelled before it starts generates nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const { chunks, result } = await run(engine, chat('water?', { signal: controller.signal }));
    expect(chunks).toEqual([]);
    expect(result).toMatchObject({ tokensOut: 0, stopReason: 'cancelled' });
  });

  it('runs one generation at a time: the next waits its turn, one more than maxWaiting is refused', async () => {
    const busy = localEngine(join(root, 'tiny'), { maxWaiting: 1 });
    await busy.load();
    const controller = new AbortController();
    const first = busy.generate(request({ prompt: 'Please sing', maxTokens: 8192, signal: controller.signal }));
    await first.next(); // running
    let secondDone = false;
    const second = run(busy, chat('water?')).then((r) => {
      secondDone = true;
      return r;
    });
    await expect(run(busy, chat('water?'))).rejects.toMatchObject({ code: 'capacity_exceeded' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(secondDone).toBe(false);
    controller.abort();
    expect((await first.next()).value).toMatchObject({ stopReason: 'cancelled' });
    expect((await second).text).toBe(TINY_CHAT_ANSWER);
  });

  it('a model it does not have, or has not loaded, is not_implemented', async () => {
    await expect(run(engine, request({ model: 'qwen2.5-7b', prompt: 'hi' }))).rejects.toMatchObject({ code: 'not_implemented' });
    await expect(run(localEngine(join(root, 'tiny')), chat('hi'))).rejects.toMatchObject({ code: 'not_implemented' });
  });

  it('a prompt longer than the context is bad_request; the answer is cut where the context ends', async () => {
    writeTinyCausalLm(join(root, 'short'), { maxPositions: 8 });
    const short = localEngine(join(root, 'short'));
    await short.load();
    await expect(run(short, chat('How do I purify water?'))).rejects.toMatchObject({ code: 'bad_request' });
    const { text, result } = await run(short, request({ prompt: 'Please sing', maxTokens: 100 }));
    expect(result).toEqual({ tokensIn: 3, tokensOut: 5, stopReason: 'max_tokens' });
    expect(text).toBe(' la'.repeat(5));
  });

  it('missing files give an error naming the model, the place looked in and the file', async () => {
    const noWeights = await loadFailure(localEngine(join(root, 'tiny'), { dtype: 'q8' }));
    expect(noWeights.code).toBe('internal_error');
    expect(noWeights.message).toContain(`"${MODEL}"`);
    expect(noWeights.message).toContain(join(root, 'tiny'));
    expect(noWeights.message).toContain('model_quantized.onnx');
    const nothing = await loadFailure(localEngine(join(root, 'nowhere')));
    expect(nothing.code).toBe('internal_error');
    expect(nothing.message).toContain('config.json');
    writeTinyCausalLm(join(root, 'no-tokenizer-config'));
    rmSync(join(root, 'no-tokenizer-config', 'tokenizer_config.json'));
    const halfTokenizer = await loadFailure(localEngine(join(root, 'no-tokenizer-config')));
    expect(halfTokenizer.message).toContain('tokenizer_config.json');
    console.info(`[transformers] ${noWeights.message}\n[transformers] ${nothing.message}`);
  });
});

describe('TransformersEngine from a model mirror over HTTP (HF layout)', () => {
  let server: Server;
  let base: string;
  const requested: string[] = [];

  beforeAll(async () => {
    writeTinyCausalLm(join(root, 'mirror', MODEL), { dtypes: ['q4'] });
    server = createServer((req, res) => {
      const match = /^\/models\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(req.url ?? '');
      if (!match) return void res.writeHead(404).end();
      readFile(join(root, 'mirror', match[1], match[2])).then(
        (bytes) => res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' }).end(bytes),
        () => res.writeHead(404).end('not here')
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const recordingFetch: typeof fetch = (input, init) => {
    requested.push(String(input));
    return fetch(input, init);
  };

  it('loads <base>/<org>/<repo>/resolve/main/<file>, the dtype picking the ONNX file, and fetches nothing else', async () => {
    const remote = new TransformersEngine({ model: MODEL, source: { baseUrl: base }, dtype: 'q4', fetch: recordingFetch, cacheDir: join(root, 'cache') });
    const seen: TransformersLoadProgress[] = [];
    await remote.load((p) => seen.push(p));
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.every((url) => url.startsWith(`${base}${MODEL}/resolve/main/`))).toBe(true);
    expect(requested).toContain(`${base}${MODEL}/resolve/main/onnx/model_q4.onnx`);
    const weights = seen.filter((p) => p.file === 'onnx/model_q4.onnx');
    expect(weights.at(-1)).toMatchObject({ fraction: 1 });
    expect(weights.at(-1)?.total).toBe(statSync(join(root, 'mirror', MODEL, 'onnx/model_q4.onnx')).size);
    expect((await run(remote, chat('water?'))).text).toBe(TINY_CHAT_ANSWER);
  });

  it('a model the mirror lacks: internal_error with the URL tried', async () => {
    const missing = await loadFailure(new TransformersEngine({ model: 'hearth/absent', source: { baseUrl: base }, dtype: 'q4', cacheDir: join(root, 'cache') }));
    expect(missing.code).toBe('internal_error');
    expect(missing.message).toContain('"hearth/absent"');
    expect(missing.message).toContain(`${base}hearth/absent/resolve/main/config.json`);
    console.info(`[transformers] ${missing.message}`);
  });

  it('a mirror that cannot be reached: partition, retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = await loadFailure(new TransformersEngine({ model: 'hearth/gone', source: { baseUrl: `http://127.0.0.1:${port}/models/` }, dtype: 'q4', cacheDir: join(root, 'cache') }));
    expect(unreachable.code).toBe('partition');
    expect(unreachable.retryable).toBe(true);
    expect(unreachable.message).toContain(`http://127.0.0.1:${port}/models/hearth/gone/resolve/main/`);
    console.info(`[transformers] ${unreachable.message}`);
  });

  it('rejects a mirror address that is not an absolute http(s) URL, a model name that is not org/repo, and (Node) no cacheDir', async () => {
    expect(() => new TransformersEngine({ model: MODEL, source: { baseUrl: '/models/' } })).toThrow(/absolute http/);
    expect(() => new TransformersEngine({ model: 'tiny', source: { baseUrl: base } })).toThrow(/org\/name/);
    const noCache = await loadFailure(new TransformersEngine({ model: MODEL, source: { baseUrl: base }, dtype: 'q4' }));
    expect(noCache).toMatchObject({ code: 'bad_request', message: expect.stringContaining('cacheDir') });
  });
});

describe('the tiny model through the LLM service (llm.chat / llm.complete on a bus)', () => {
  async function collect(iterable: AsyncIterable<StreamEvent>) {
    const events: StreamEvent[] = [];
    for await (const event of iterable) events.push(event);
    return events;
  }

  it('offers the model and answers with streamed tokens and a done event', async () => {
    const t = makeBus();
    const service = new LlmService({ engines: [engine], register: (r) => t.bus.register(r), clock: t.time, selfId: SELF });
    expect(await service.refresh()).toEqual([MODEL]);
    const offered = t.bus.capabilities().filter((c) => c.name.startsWith('llm.'));
    expect(offered.map((c) => [c.name, c.params])).toEqual([
      ['llm.chat', { model: MODEL, models: [MODEL] }],
      ['llm.complete', { model: MODEL, models: [MODEL] }]
    ]);
    const events = await collect(t.bus.stream('llm.chat', '1.0', { params: { model: MODEL }, input: { messages: [{ role: 'user', content: 'How do I purify water?' }], temperature: 0 } }));
    const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
    expect(tokens).toEqual(['Boil', ' water', ' for', ' one', ' minute', '.']);
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { model: MODEL, tokens_in: 10, tokens_out: 6, stop_reason: 'end', served_by: SELF } });
    const completion = await t.bus.call('llm.complete', '1.0', { input: { prompt: 'Boil', temperature: 0, stream: false } });
    expect(completion).toMatchObject({ output: { text: ' water for one minute.' } });
    service.stop();
  });
});

describe('speed of the tiny model in Node (reported, not asserted)', () => {
  it('generates a few hundred tokens', async () => {
    const started = performance.now();
    const { result } = await run(engine, request({ prompt: 'Please sing', maxTokens: 500 }));
    const seconds = (performance.now() - started) / 1000;
    expect(result.tokensOut).toBe(500);
    console.info(`[transformers] tiny model: ${result.tokensOut} tokens in ${(seconds * 1000).toFixed(0)} ms = ${(result.tokensOut / seconds).toFixed(0)} tokens/s`);
  });
});

describe('sampling, incremental decoding and stop sequences (pure)', () => {
  it('the seeded generator repeats per seed and differs between seeds, using both halves of a large seed', () => {
    const draws = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draws(1)).toEqual(draws(1));
    expect(draws(1)).not.toEqual(draws(2));
    expect(draws(2 ** 40)).not.toEqual(draws(2 ** 41));
    expect(draws(9).every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('top-p keeps exactly the most likely tokens whose mass reaches p, and draws in proportion', () => {
    const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
    const counts = [0, 0, 0, 0];
    const random = seededRandom(5);
    for (let i = 0; i < 20_000; i++) counts[pickToken(logits, 1, 0.8, random).index]++;
    expect(counts[2] + counts[3]).toBe(0); // 0.5 + 0.3 reaches 0.8
    expect(counts[0] / 20_000).toBeCloseTo(0.5 / 0.8, 1);
    expect(pickToken(logits, 0, 1, random)).toEqual({ index: 0, logprob: expect.closeTo(Math.log(0.5), 5) });
    expect(pickToken(logits, 1, 1e-9, random).index).toBe(0);
  });

  it('decodes token by token like a SentencePiece decoder would as a whole (first space dropped, later kept)', () => {
    const vocab = ['▁Boil', '▁water', '<s>'];
    const decode = (ids: number[]) => ids.filter((i) => i !== 2).map((i) => vocab[i].replaceAll('▁', ' ')).join('').replace(/^ /, '');
    const fromPrompt = new IncrementalDecoder(decode, [2, 0]);
    expect(fromPrompt.push(1)).toBe(' water');
    const fresh = new IncrementalDecoder(decode, [2]);
    expect([fresh.push(0), fresh.push(1)]).toEqual(['Boil', ' water']);
  });

  it('the stop scanner emits everything before the earliest stop and nothing after', () => {
    const scanner = new StopMatcher(['END', 'ND!']);
    expect([scanner.push('abc E'), scanner.push('N'), scanner.push('D tail')].map((s) => s.emit)).toEqual(['abc ', '', '']);
    expect(scanner.stopped).toBe(true);
    const open = new StopMatcher(['###']);
    expect([open.push('a#').emit, open.push('#b').emit, open.flush()]).toEqual(['a', '##b', '']);
    expect(TINY_VOCAB.length).toBeLessThan(64);
  });
});

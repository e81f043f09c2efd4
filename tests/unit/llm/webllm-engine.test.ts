/**
 * The WebLLM engine adapter against a small fake of web-llm's MLCEngineInterface (the library edge; this machine
 * has no GPU). The fake behaves as web-llm 0.2.86 does where the adapter depends on it: a lazy async generator per
 * request, one decode step per chunk, `interruptGenerate()` seen before the next step (finish_reason "abort"), a final
 * chunk with the finish reason and empty delta, then a usage chunk with `choices: []` when include_usage is set.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ChatCompletionChunk, ChatCompletionRequestStreaming, Completion, CompletionCreateParamsStreaming, InitProgressReport, MLCEngineConfig } from '@mlc-ai/web-llm';
import { HearthError } from '../../../src/lib/core/errors.js';
import type { GenerateRequest, GenerateResult, TokenChunk } from '../../../src/lib/llm/engine.js';
import { loadWebLlm, progressOf, type LoadProgress } from '../../../src/lib/llm/webllm/load-webllm.js';
import { StopMatcher } from '../../../src/lib/llm/stop-matcher.js';
import { WebLlmEngine, type MlcEngineLike } from '../../../src/lib/llm/webllm/webllm-engine.js';

const MODEL = 'Llama-3.2-1B-Instruct-q4f16_1-MLC';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Script {
  deltas: string[];
  finish: 'stop' | 'length';
  /** Delay before each decode step, ms (the last value repeats). */
  delays: number[];
  promptTokens: number;
  /** Send the usage chunk when asked for it (web-llm does). */
  usage: boolean;
  createDelayMs: number;
  createError: unknown;
  /** Throw this before producing delta number `failAt`. */
  failAt: number | null;
  failWith: unknown;
}

type AnyRequest = ChatCompletionRequestStreaming | CompletionCreateParamsStreaming;

class FakeMlcEngine implements MlcEngineLike {
  script: Script = { deltas: ['Hello', ',', ' street'], finish: 'stop', delays: [1], promptTokens: 17, usage: true, createDelayMs: 0, createError: null, failAt: null, failWith: null };
  requests: { kind: 'chat' | 'completion'; request: AnyRequest }[] = [];
  interrupts = 0;
  opened = 0;
  closed = 0;
  unloaded = false;
  private interruptSignal = false;

  chat = { completions: { create: (request: ChatCompletionRequestStreaming) => this.start('chat', request) as Promise<AsyncIterable<ChatCompletionChunk>> } };
  completions = { create: (request: CompletionCreateParamsStreaming) => this.start('completion', request) as Promise<AsyncIterable<Completion>> };

  interruptGenerate(): void {
    this.interrupts++;
    this.interruptSignal = true;
  }

  async unload(): Promise<void> {
    this.unloaded = true;
  }

  private async start(kind: 'chat' | 'completion', request: AnyRequest): Promise<AsyncIterable<ChatCompletionChunk | Completion>> {
    this.requests.push({ kind, request });
    const script = { ...this.script };
    if (script.createDelayMs > 0) await sleep(script.createDelayMs);
    if (script.createError !== null) throw script.createError;
    const chunk = (text: string, finish: string | null): ChatCompletionChunk | Completion =>
      kind === 'chat'
        ? ({ id: 'c', created: 0, model: MODEL, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text, role: 'assistant' }, finish_reason: finish }] } as ChatCompletionChunk)
        : ({ id: 'c', created: 0, model: MODEL, object: 'text_completion', choices: [{ index: 0, text, finish_reason: finish }] } as Completion);
    const engine = this;
    return (async function* () {
      engine.opened++;
      engine.interruptSignal = false;
      let produced = 0;
      let finish: string = script.finish;
      try {
        for (const delta of script.deltas) {
          if (engine.interruptSignal) {
            finish = 'abort';
            break;
          }
          await sleep(script.delays[Math.min(produced, script.delays.length - 1)]);
          if (script.failAt === produced) throw script.failWith;
          produced++;
          yield chunk(delta, null);
        }
        yield chunk('', finish);
        if (script.usage && request.stream_options?.include_usage) {
          yield { ...chunk('', null), choices: [], usage: { prompt_tokens: script.promptTokens, completion_tokens: produced, total_tokens: script.promptTokens + produced } } as unknown as ChatCompletionChunk;
        }
      } finally {
        engine.closed++;
      }
    })();
  }
}

function chat(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Who has a ladder?' }
    ],
    maxTokens: 64,
    temperature: 0.7,
    topP: 0.95,
    stop: [],
    seed: 42,
    signal: new AbortController().signal,
    ...over
  };
}

async function run(generation: AsyncGenerator<TokenChunk, GenerateResult, undefined>): Promise<{ chunks: string[]; result: GenerateResult }> {
  const chunks: string[] = [];
  for (;;) {
    const step = await generation.next();
    if (step.done) return { chunks, result: step.value };
    chunks.push(step.value.text);
  }
}

async function failure(generation: AsyncGenerator<TokenChunk, GenerateResult, undefined>): Promise<HearthError> {
  try {
    await run(generation);
  } catch (err) {
    expect(err).toBeInstanceOf(HearthError);
    return err as HearthError;
  }
  throw new Error('expected the generation to fail');
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('WebLlmEngine: identity', () => {
  it('is webllm:<model_id> and offers exactly the loaded model', async () => {
    const engine = new WebLlmEngine(new FakeMlcEngine(), MODEL);
    expect(engine.id).toBe(`webllm:${MODEL}`);
    expect(await engine.models()).toEqual([MODEL]);
  });
});

describe('WebLlmEngine: streaming', () => {
  it('yields every delta in order, then token counts from web-llm usage', async () => {
    const fake = new FakeMlcEngine();
    fake.script.deltas = ['The', ' Millers', ' at', ' No.', ' 4'];
    fake.script.promptTokens = 23;
    const { chunks, result } = await run(new WebLlmEngine(fake, MODEL).generate(chat()));
    expect(chunks).toEqual(['The', ' Millers', ' at', ' No.', ' 4']);
    expect(result).toEqual({ tokensIn: 23, tokensOut: 5, stopReason: 'end' });
    expect(fake.closed).toBe(1);
  });

  it('maps the request onto chat.completions.create with streaming, usage, sampling and the seed', async () => {
    const fake = new FakeMlcEngine();
    await run(new WebLlmEngine(fake, MODEL).generate(chat({ maxTokens: 12, temperature: 0.2, topP: 0.9, seed: 7, stop: ['\n\n'] })));
    expect(fake.requests).toHaveLength(1);
    const { kind, request } = fake.requests[0];
    expect(kind).toBe('chat');
    expect(request).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      model: MODEL,
      max_tokens: 12,
      temperature: 0.2,
      top_p: 0.9,
      seed: 7,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Who has a ladder?' }
      ]
    });
    // Stop strings are matched by the adapter (see the stop-sequence tests), not handed to web-llm.
    expect(request).not.toHaveProperty('stop');
  });

  it('sends no seed when the request has none', async () => {
    const fake = new FakeMlcEngine();
    await run(new WebLlmEngine(fake, MODEL).generate(chat({ seed: null })));
    expect(fake.requests[0].request).not.toHaveProperty('seed');
  });

  it('runs a prompt through completions.create', async () => {
    const fake = new FakeMlcEngine();
    fake.script.deltas = [' once', ' upon'];
    const { chunks, result } = await run(new WebLlmEngine(fake, MODEL).generate(chat({ messages: undefined, prompt: 'Tell a story:' })));
    expect(fake.requests[0].kind).toBe('completion');
    expect(fake.requests[0].request).toMatchObject({ prompt: 'Tell a story:', stream: true, max_tokens: 64 });
    expect(chunks).toEqual([' once', ' upon']);
    expect(result.stopReason).toBe('end');
  });

  it('counts chunks and estimates input tokens when web-llm sends no usage', async () => {
    const fake = new FakeMlcEngine();
    fake.script.usage = false;
    fake.script.deltas = ['a', 'b', 'c'];
    const { result } = await run(new WebLlmEngine(fake, MODEL).generate(chat()));
    const chars = 'You are terse.'.length + 'Who has a ladder?'.length;
    expect(result).toEqual({ tokensIn: Math.ceil(chars / 4), tokensOut: 3, stopReason: 'end' });
  });
});

describe('WebLlmEngine: stop reasons', () => {
  it('length → max_tokens', async () => {
    const fake = new FakeMlcEngine();
    fake.script.finish = 'length';
    expect((await run(new WebLlmEngine(fake, MODEL).generate(chat()))).result.stopReason).toBe('max_tokens');
  });

  it('stop without a stop string → end', async () => {
    const fake = new FakeMlcEngine();
    expect((await run(new WebLlmEngine(fake, MODEL).generate(chat({ stop: ['###'] })))).result.stopReason).toBe('end');
  });

  it('abort (interrupted by someone else) → cancelled', async () => {
    const fake = new FakeMlcEngine();
    fake.script.deltas = ['a', 'b', 'c', 'd'];
    const generation = new WebLlmEngine(fake, MODEL).generate(chat());
    await generation.next();
    fake.interruptGenerate();
    const { result } = await run(generation);
    expect(result.stopReason).toBe('cancelled');
  });

  it('a stop string split across tokens ends with stop_sequence, is never shown, and interrupts web-llm', async () => {
    const fake = new FakeMlcEngine();
    fake.script.deltas = ['The', ' answer', ' E', 'ND', ' and', ' more', ' text'];
    const { chunks, result } = await run(new WebLlmEngine(fake, MODEL).generate(chat({ stop: ['END'] })));
    expect(chunks.join('')).toBe('The answer ');
    expect(result.stopReason).toBe('stop_sequence');
    // Tokens up to and including the stop string; the prompt count still comes from web-llm's usage report.
    expect(result.tokensOut).toBe(4);
    expect(result.tokensIn).toBe(17);
    expect(fake.interrupts).toBe(1);
    expect(fake.closed).toBe(1);
  });

  it('text held back as a possible stop string is released when it is not one', async () => {
    const fake = new FakeMlcEngine();
    fake.script.deltas = ['x E', 'N', 'D?'];
    const { chunks, result } = await run(new WebLlmEngine(fake, MODEL).generate(chat({ stop: ['END!'] })));
    expect(chunks.join('')).toBe('x END?');
    expect(result.stopReason).toBe('end');
  });
});

describe('StopMatcher', () => {
  it('emits text up to the earliest stop string', () => {
    const m = new StopMatcher(['\n\n', 'User:']);
    expect(m.push('Hi there')).toEqual({ emit: 'Hi there', matched: null });
    expect(m.push('.\n')).toEqual({ emit: '.', matched: null });
    expect(m.push('\nUser: more')).toEqual({ emit: '', matched: '\n\n' });
  });

  it('with no stop strings passes everything through', () => {
    const m = new StopMatcher([]);
    expect(m.push('abc')).toEqual({ emit: 'abc', matched: null });
    expect(m.flush()).toBe('');
  });
});

describe('WebLlmEngine: cancellation', () => {
  it('returns cancelled within 200 ms of the abort, mid-step, and interrupts web-llm', async () => {
    const fake = new FakeMlcEngine();
    fake.script.deltas = ['one', 'two', 'three'];
    fake.script.delays = [5, 600];
    const controller = new AbortController();
    const generation = new WebLlmEngine(fake, MODEL).generate(chat({ signal: controller.signal }));
    expect((await generation.next()).value).toEqual({ text: 'one' });
    const pending = generation.next(); // web-llm is now in a 600 ms decode step
    await sleep(20);
    const abortedAt = performance.now();
    controller.abort();
    const step = await pending;
    expect(performance.now() - abortedAt).toBeLessThan(200);
    expect(step).toEqual({ done: true, value: { tokensIn: expect.any(Number), tokensOut: 1, stopReason: 'cancelled' } });
    expect(fake.interrupts).toBeGreaterThanOrEqual(1);
    // web-llm's stream is closed once its step ends, which releases its model lock.
    await vi.waitFor(() => expect(fake.closed).toBe(1), { timeout: 2_000 });
  });

  it('does not call web-llm when already aborted', async () => {
    const fake = new FakeMlcEngine();
    const controller = new AbortController();
    controller.abort();
    const { chunks, result } = await run(new WebLlmEngine(fake, MODEL).generate(chat({ signal: controller.signal })));
    expect(chunks).toEqual([]);
    expect(result.stopReason).toBe('cancelled');
    expect(fake.requests).toHaveLength(0);
  });

  it('returns promptly when aborted while web-llm is still setting up the stream, and closes it later', async () => {
    const fake = new FakeMlcEngine();
    fake.script.createDelayMs = 400;
    const controller = new AbortController();
    const generation = new WebLlmEngine(fake, MODEL).generate(chat({ signal: controller.signal }));
    const pending = generation.next();
    await sleep(20);
    const abortedAt = performance.now();
    controller.abort();
    expect(await pending).toMatchObject({ done: true, value: { stopReason: 'cancelled', tokensOut: 0 } });
    expect(performance.now() - abortedAt).toBeLessThan(200);
    await sleep(450);
    expect(fake.opened).toBe(0); // the late stream was closed before it ever ran
  });

  it('a consumer that stops reading (generation.return) interrupts and closes the stream', async () => {
    const fake = new FakeMlcEngine();
    fake.script.deltas = ['a', 'b', 'c', 'd'];
    const generation = new WebLlmEngine(fake, MODEL).generate(chat());
    await generation.next();
    await generation.return({ tokensIn: 0, tokensOut: 0, stopReason: 'cancelled' });
    expect(fake.interrupts).toBe(1);
    await vi.waitFor(() => expect(fake.closed).toBe(1));
  });
});

describe('WebLlmEngine: one generation at a time', () => {
  it('refuses a second caller with capacity_exceeded and a retry_after_ms from the running pace, then serves again', async () => {
    const fake = new FakeMlcEngine();
    fake.script.deltas = Array.from({ length: 10 }, (_, i) => `t${i}`);
    fake.script.delays = [30];
    let now = 0;
    const engine = new WebLlmEngine(fake, MODEL, { now: () => now });
    const first = engine.generate(chat({ maxTokens: 100 }));
    await first.next();
    await first.next(); // two tokens in
    now = 1_000; // 500 ms a token, 98 to go → ~49 s
    const refused = await failure(engine.generate(chat()));
    expect(refused.code).toBe('capacity_exceeded');
    expect(refused.retryable).toBe(true);
    expect(refused.retryAfterMs).toBe(49_000);
    await run(first);
    const again = await run(engine.generate(chat()));
    expect(again.result.stopReason).toBe('end');
  });

  it('clamps the retry estimate to at least 1 s', async () => {
    const fake = new FakeMlcEngine();
    fake.script.delays = [30];
    const engine = new WebLlmEngine(fake, MODEL, { now: () => 0 });
    const first = engine.generate(chat());
    const started = first.next();
    const refused = await failure(engine.generate(chat()));
    expect(refused.retryAfterMs).toBeGreaterThanOrEqual(1_000);
    await started;
    await run(first);
  });
});

describe('WebLlmEngine: errors', () => {
  it('a model it does not run is not_implemented', async () => {
    const err = await failure(new WebLlmEngine(new FakeMlcEngine(), MODEL).generate(chat({ model: 'Qwen3-0.6B-q4f16_1-MLC' })));
    expect(err.code).toBe('not_implemented');
  });

  it("web-llm's ModelNotLoadedError is not_implemented", async () => {
    const fake = new FakeMlcEngine();
    fake.script.createError = named('ModelNotLoadedError', 'Model not loaded before trying to complete ChatCompletionRequest.');
    expect((await failure(new WebLlmEngine(fake, MODEL).generate(chat()))).code).toBe('not_implemented');
  });

  it('after unload it offers nothing and refuses with not_implemented', async () => {
    const fake = new FakeMlcEngine();
    const engine = new WebLlmEngine(fake, MODEL);
    await engine.unload();
    expect(fake.unloaded).toBe(true);
    expect(await engine.models()).toEqual([]);
    expect((await failure(engine.generate(chat()))).code).toBe('not_implemented');
  });

  it('a GPU device lost mid-stream (as a web worker reports it, a string) is internal_error with a human message', async () => {
    const fake = new FakeMlcEngine();
    fake.script.failAt = 2;
    fake.script.failWith = 'DeviceLostError: The WebGPU device was lost while loading the model. This issue often occurs due to running out of memory (OOM).';
    const err = await failure(new WebLlmEngine(fake, MODEL).generate(chat()));
    expect(err.code).toBe('internal_error');
    expect(err.message).toMatch(/out of memory/);
    expect(err.message).toMatch(/smaller model/);
  });

  it('an out-of-memory error is internal_error', async () => {
    const fake = new FakeMlcEngine();
    fake.script.createError = new Error('GPUOutOfMemoryError: failed to allocate buffer');
    expect((await failure(new WebLlmEngine(fake, MODEL).generate(chat()))).code).toBe('internal_error');
  });

  it('a prompt beyond the context window is bad_request', async () => {
    const fake = new FakeMlcEngine();
    fake.script.createError = named('ContextWindowSizeExceededError', 'Prompt tokens exceed context window size: number of prompt tokens: 5000; context window size: 4096');
    const err = await failure(new WebLlmEngine(fake, MODEL).generate(chat()));
    expect(err.code).toBe('bad_request');
    expect(err.message).toMatch(/4096/);
  });

  it('checks the request before calling web-llm', async () => {
    const fake = new FakeMlcEngine();
    const engine = new WebLlmEngine(fake, MODEL);
    expect((await failure(engine.generate(chat({ messages: [] })))).code).toBe('bad_request');
    expect((await failure(engine.generate(chat({ prompt: 'both' })))).code).toBe('bad_request');
    expect((await failure(engine.generate(chat({ maxTokens: 0 })))).code).toBe('bad_request');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('loadWebLlm', () => {
  const appConfig = { model_list: [{ model: `https://huggingface.co/mlc-ai/${MODEL}`, model_id: MODEL, model_lib: 'https://example.invalid/lib.wasm' }] };

  it('reports download, load and ready phases from web-llm progress, then returns the engine', async () => {
    const fake = new FakeMlcEngine();
    const seen: LoadProgress[] = [];
    let config: MLCEngineConfig | undefined;
    const engine = await loadWebLlm({
      modelId: MODEL,
      appConfig,
      onProgress: (p) => seen.push(p),
      createEngine: async (modelId, engineConfig) => {
        config = engineConfig;
        const report = (progress: number, text: string) => engineConfig.initProgressCallback?.({ progress, timeElapsed: 1, text });
        report(0, 'Start to fetch params');
        report(0.5, 'Fetching param cache[11/22]: 350MB fetched. 50% completed, 9 secs elapsed. It can take a while when we first visit this page to populate the cache. Later refreshes will become faster.');
        report(0.5, 'Loading model from cache[11/22]: 350MB loaded. 50% completed, 12 secs elapsed.');
        report(0.8, 'Loading GPU shader modules[40/50]: 80% completed, 14 secs elapsed.');
        report(1, 'Finish loading on WebGPU - nvidia');
        expect(modelId).toBe(MODEL);
        return fake;
      }
    });
    expect(config?.appConfig).toBe(appConfig);
    expect(seen.map((p) => [p.phase, p.fraction])).toEqual([
      ['download', 0],
      ['download', 0.5],
      ['load', 0.5],
      ['load', 0.8],
      ['ready', 1]
    ]);
    expect(engine).toBeInstanceOf(WebLlmEngine);
    expect(engine.id).toBe(`webllm:${MODEL}`);
    expect((await run(engine.generate(chat()))).chunks.join('')).toBe('Hello, street');
  });

  it('adds the ready report when web-llm sent none', async () => {
    const seen: LoadProgress[] = [];
    await loadWebLlm({ modelId: MODEL, appConfig, onProgress: (p) => seen.push(p), createEngine: async () => new FakeMlcEngine() });
    expect(seen.at(-1)).toMatchObject({ phase: 'ready', fraction: 1 });
  });

  it('keeps the previous phase for text it does not know', () => {
    const report: InitProgressReport = { progress: 0.3, timeElapsed: 2, text: 'something new' };
    expect(progressOf(report, 'download')).toEqual({ fraction: 0.3, text: 'something new', phase: 'download', elapsedSeconds: 2 });
  });

  it('refuses a model the config does not list (not on the mirror, no download asked) with not_found', async () => {
    const createEngine = vi.fn(async () => new FakeMlcEngine());
    await expect(loadWebLlm({ modelId: 'Qwen3-0.6B-q4f16_1-MLC', appConfig, createEngine })).rejects.toMatchObject({ code: 'not_found' });
    expect(createEngine).not.toHaveBeenCalled();
  });

  it('maps a failed load to a HearthError', async () => {
    const createEngine = async () => {
      throw named('ShaderF16SupportError', 'This model requires WebGPU extension shader-f16, which is not enabled in this browser. You can try …');
    };
    const err = await loadWebLlm({ modelId: MODEL, appConfig, createEngine }).catch((e) => e);
    expect(err).toBeInstanceOf(HearthError);
    expect(err.code).toBe('not_implemented');
    expect(err.message).toMatch(/q4f32/);
  });
});

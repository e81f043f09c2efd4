/**
 * An engine served from "another thread": a real MessageChannel with comlink between the model side
 * (serveEngine) and the node side (PortEngine), as between the model worker and the node worker.
 */
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import type { GenerateRequest, GenerateResult, LlmEngine, TokenChunk } from '../../../src/lib/llm/engine.js';
import { PortEngine, serveEngine, type EnginePortApi } from '../../../src/lib/llm/port/index.js';

/** Emits `count` numbered tokens `delayMs` apart; stops when its signal aborts. */
class PacedEngine implements LlmEngine {
  readonly id = 'paced';
  aborted = false;
  constructor(
    private readonly count: number,
    private readonly delayMs: number
  ) {}
  async models() {
    return ['paced-1'];
  }
  async *generate(request: GenerateRequest): AsyncGenerator<TokenChunk, GenerateResult, undefined> {
    if (request.model !== 'paced-1') throw new HearthError('not_implemented', `no model ${request.model}`);
    let out = 0;
    for (let i = 0; i < Math.min(this.count, request.maxTokens); i++) {
      if (request.signal.aborted) {
        this.aborted = true;
        return { tokensIn: 3, tokensOut: out, stopReason: 'cancelled' };
      }
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      out++;
      yield { text: `t${i} ` };
    }
    return { tokensIn: 3, tokensOut: out, stopReason: out < this.count ? 'max_tokens' : 'end' };
  }
}

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) {
    channel.port1.close();
    channel.port2.close();
  }
});

function across(engine: LlmEngine): PortEngine {
  const channel = new MessageChannel();
  channels.push(channel);
  Comlink.expose(serveEngine(engine), channel.port1);
  const remote = Comlink.wrap<EnginePortApi>(channel.port2) as unknown as EnginePortApi;
  return new PortEngine({ remote, id: `port:${engine.id}`, proxy: Comlink.proxy });
}

const request = (overrides: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: 'paced-1',
  messages: [{ role: 'user', content: 'hi' }],
  maxTokens: 100,
  temperature: 0,
  topP: 1,
  stop: [],
  seed: null,
  signal: new AbortController().signal,
  ...overrides
});

async function drain(generation: AsyncGenerator<TokenChunk, GenerateResult, undefined>) {
  const tokens: string[] = [];
  for (;;) {
    const next = await generation.next();
    if (next.done) return { tokens, result: next.value };
    tokens.push(next.value.text);
  }
}

describe('an engine across a message port', () => {
  it('lists the models and streams every token in order, then the totals', async () => {
    const engine = across(new PacedEngine(20, 1));
    expect(await engine.models()).toEqual(['paced-1']);
    const { tokens, result } = await drain(engine.generate(request()));
    expect(tokens).toEqual(Array.from({ length: 20 }, (_, i) => `t${i} `));
    expect(result).toEqual({ tokensIn: 3, tokensOut: 20, stopReason: 'end' });
  });

  it('keeps the contract code of an error raised in the model thread', async () => {
    const engine = across(new PacedEngine(5, 1));
    const failure = await drain(engine.generate(request({ model: 'other' }))).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(HearthError);
    expect((failure as HearthError).code).toBe('not_implemented');
  });

  it('cancelling stops the model in the other thread within 200 ms and reports cancelled', async () => {
    const model = new PacedEngine(10_000, 5);
    const engine = across(model);
    const controller = new AbortController();
    const generation = engine.generate(request({ signal: controller.signal }));
    await generation.next();
    const started = performance.now();
    controller.abort();
    const { result } = await drain(generation);
    expect(performance.now() - started).toBeLessThan(200);
    expect(result.stopReason).toBe('cancelled');
    await expect.poll(() => model.aborted, { timeout: 200 }).toBe(true);
  });

  it('closing the port (its worker is being terminated) fails a running generation at once with the given code', async () => {
    const engine = across(new PacedEngine(10_000, 5));
    const generation = engine.generate(request());
    await generation.next();
    engine.close(new HearthError('partition', 'the model on this device was stopped'));
    const failure = await drain(generation).catch((err: unknown) => err);
    expect((failure as HearthError).code).toBe('partition');
    await expect(drain(engine.generate(request()))).rejects.toMatchObject({ code: 'partition' });
  });

  it('a consumer that walks away early stops the model too', async () => {
    const model = new PacedEngine(10_000, 5);
    const engine = across(model);
    const generation = engine.generate(request());
    await generation.next();
    await generation.return({ tokensIn: 0, tokensOut: 0, stopReason: 'cancelled' });
    await expect.poll(() => model.aborted, { timeout: 1000 }).toBe(true);
  });
});

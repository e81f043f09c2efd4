/**
 * llm.chat@1.0 / llm.complete@1.0 on a real bus (M04, contract §4.1–4.2). The engine is scripted here (the engine
 * port is the edge of this layer; the OpenAI-compatible engine has its own tests against a stand-in server).
 */
import { describe, expect, it } from 'vitest';
import type { GenerateRequest, GenerateResult, LlmEngine, TokenChunk } from '../../../src/lib/llm/engine.js';
import { LlmService } from '../../../src/lib/llm/llm-service.js';
import type { StreamEvent } from '../../../src/lib/transport/index.js';
import { SELF, makeBus } from '../bus/harness.js';

/** Words of a fixed text, one per token, a few ms of virtual time apart; records what it was asked. */
class ScriptedEngine implements LlmEngine {
  readonly requests: GenerateRequest[] = [];
  stoppedEarly = false;
  constructor(
    readonly id: string,
    private readonly modelList: string[],
    private readonly words = 'Wasser gibt es am Rathaus ab acht Uhr'.split(' ')
  ) {}
  async models(): Promise<string[]> {
    return this.modelList;
  }
  async *generate(request: GenerateRequest): AsyncGenerator<TokenChunk, GenerateResult, undefined> {
    this.requests.push(request);
    let out = 0;
    try {
      for (const word of this.words.slice(0, request.maxTokens)) {
        if (request.signal.aborted) return { tokensIn: 7, tokensOut: out, stopReason: 'cancelled' };
        await Promise.resolve();
        out++;
        yield { text: (out > 1 ? ' ' : '') + word };
      }
      return { tokensIn: 7, tokensOut: out, stopReason: out < this.words.length ? 'max_tokens' : 'end' };
    } finally {
      if (out < Math.min(this.words.length, request.maxTokens)) this.stoppedEarly = true;
    }
  }
}

async function setUp(engines: LlmEngine[]) {
  const t = makeBus();
  const service = new LlmService({ engines, register: (r) => t.bus.register(r), clock: t.time, selfId: SELF });
  await service.refresh();
  return { ...t, service };
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ params: {}, input: { messages: [{ role: 'user', content }], ...extra } });

async function collect(iterable: AsyncIterable<StreamEvent>) {
  const events: StreamEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe('llm.chat / llm.complete (contract §4.1–4.2)', () => {
  it('offers one entry per capability listing every model, the first engine owning a model both list', async () => {
    const a = new ScriptedEngine('a', ['qwen2.5-7b', 'llama3.2-3b']);
    const b = new ScriptedEngine('b', ['llama3.2-3b', 'phi3-mini']);
    const { bus, service } = await setUp([a, b]);
    expect(service.models).toEqual(['qwen2.5-7b', 'llama3.2-3b', 'phi3-mini']);
    const entries = bus.capabilities().filter((c) => c.name.startsWith('llm.'));
    expect(entries.map((c) => [c.name, c.params])).toEqual([
      ['llm.chat', { model: 'qwen2.5-7b', models: ['qwen2.5-7b', 'llama3.2-3b', 'phi3-mini'] }],
      ['llm.complete', { model: 'qwen2.5-7b', models: ['qwen2.5-7b', 'llama3.2-3b', 'phi3-mini'] }]
    ]);
    await collect(bus.stream('llm.chat', '1.0', { ...ask('hallo'), params: { model: 'llama3.2-3b' } }));
    expect([a.requests.length, b.requests.length]).toEqual([1, 0]);
    await collect(bus.stream('llm.chat', '1.0', { ...ask('hallo'), params: { model: 'phi3-mini' } }));
    expect(b.requests.map((r) => r.model)).toEqual(['phi3-mini']);
  });

  it('offers as many concurrent calls as its engines run together (WebLLM and transformers.js run one each)', async () => {
    const single = Object.assign(new ScriptedEngine('webllm', ['llama-1b']), { maxConcurrent: 1 });
    const server = new ScriptedEngine('server', ['qwen2.5-7b']); // says nothing: two
    expect((await setUp([single])).bus.capabilities().find((c) => c.name === 'llm.chat')?.maxConcurrent).toBe(1);
    expect((await setUp([single, server])).bus.capabilities().find((c) => c.name === 'llm.chat')?.maxConcurrent).toBe(3);
  });

  it('streams token events and ends with done: model, tokens in and out, stop reason, time, who served', async () => {
    const { bus } = await setUp([new ScriptedEngine('a', ['qwen2.5-7b'])]);
    const events = await collect(bus.stream('llm.chat', '1.0', ask('Wo gibt es Wasser?')));
    const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
    expect(tokens.join('')).toBe('Wasser gibt es am Rathaus ab acht Uhr');
    expect(events[events.length - 1]).toMatchObject({ event: 'done', data: { model: 'qwen2.5-7b', tokens_in: 7, tokens_out: 8, stop_reason: 'end', served_by: SELF } });
    const trace = bus.recentTraces(1)[0];
    expect(trace).toMatchObject({ capability: 'llm.chat', result: 'ok', tokens_in: 7, tokens_out: 8, stream: true });
  });

  it('answers at once with stream:false, and llm.complete takes a prompt', async () => {
    const { bus } = await setUp([new ScriptedEngine('a', ['qwen2.5-7b'])]);
    const chat = await bus.call('llm.chat', '1.0', ask('Wasser?', { stream: false, max_tokens: 3 }));
    expect(chat).toEqual({ output: { message: { role: 'assistant', content: 'Wasser gibt es' } }, meta: expect.objectContaining({ tokens_out: 3, stop_reason: 'max_tokens' }) });
    const complete = await bus.call('llm.complete', '1.0', { params: {}, input: { prompt: 'Wasser', stream: false, max_tokens: 2 } });
    expect(complete).toMatchObject({ output: { text: 'Wasser gibt' }, meta: { model: 'qwen2.5-7b' } });
  });

  it('passes sampling options through with the contract defaults', async () => {
    const engine = new ScriptedEngine('a', ['qwen2.5-7b']);
    const { bus } = await setUp([engine]);
    await collect(bus.stream('llm.chat', '1.0', ask('x')));
    await collect(bus.stream('llm.chat', '1.0', ask('x', { temperature: 0, top_p: 0.5, seed: 42, stop: ['Uhr'], max_tokens: 5 })));
    expect(engine.requests.map(({ maxTokens, temperature, topP, seed, stop }) => ({ maxTokens, temperature, topP, seed, stop }))).toEqual([
      { maxTokens: 1024, temperature: 0.7, topP: 0.95, seed: null, stop: [] },
      { maxTokens: 5, temperature: 0, topP: 0.5, seed: 42, stop: ['Uhr'] }
    ]);
  });

  it('refuses malformed requests with bad_request naming the problem, and tools with not_implemented', async () => {
    const { bus } = await setUp([new ScriptedEngine('a', ['qwen2.5-7b'])]);
    const refusal = (body: unknown) => bus.call('llm.chat', '1.0', body).then(() => null, (err: { code: string; message: string }) => `${err.code}: ${err.message}`);
    expect(await refusal({ input: { messages: [] } })).toMatch(/^bad_request: messages must not be empty/);
    expect(await refusal({ input: { messages: [{ role: 'assistant', content: 'hi' }] } })).toMatch(/^bad_request: at least one message must come from the user/);
    expect(await refusal({ input: { messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 'b' }, { role: 'user', content: 'c' }] } })).toMatch(/system message may only come first/);
    expect(await refusal({ input: { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] } })).toMatch(/last message must come from the user/);
    expect(await refusal({ input: { messages: [{ role: 'robot', content: 'a' }] } })).toMatch(/role must be one of system, user, assistant/);
    expect(await refusal(ask('x', { max_tokens: 0 }))).toMatch(/max_tokens must be a whole number from 1 to 8192/);
    expect(await refusal(ask('x', { temperature: 3 }))).toMatch(/temperature must be a number from 0 to 2/);
    expect(await refusal(ask('x', { stop: ['a', 'b', 'c', 'd', 'e'] }))).toMatch(/stop must be a list of at most 4/);
    expect(await refusal(ask('x'.repeat(50_000)))).toMatch(/at most 48000/);
    expect(await refusal(ask('x', { tools: [{ type: 'function' }] }))).toMatch(/^not_implemented: tool calls/);
  });

  it('a call for a model this node does not have is not routed here (not_found: no provider has it)', async () => {
    const { bus } = await setUp([new ScriptedEngine('a', ['qwen2.5-7b'])]);
    const routed = await bus.call('llm.chat', '1.0', { ...ask('x', { stream: false }), params: { model: 'gpt-9' } }).catch((e: { code: string }) => e.code);
    expect(routed).toBe('not_found');
  });

  it('asked directly for a model it does not have, a node answers not_implemented and names what it has', async () => {
    const { bus } = await setUp([new ScriptedEngine('a', ['qwen2.5-7b'])]);
    const direct = bus.handle({ capability: 'llm.complete', version: '1.0', body: { params: { model: 'gpt-9' }, input: { prompt: 'x', stream: false } } }, { caller: SELF, requestId: 'r1', signal: new AbortController().signal });
    await expect(Promise.resolve(direct)).rejects.toMatchObject({ code: 'not_implemented', extra: { alt_capabilities: ['llm.complete@1.0 model=qwen2.5-7b'] } });
  });

  it('a caller that stops reading cancels the engine', async () => {
    const engine = new ScriptedEngine('a', ['qwen2.5-7b']);
    const { bus } = await setUp([engine]);
    let seen = 0;
    for await (const event of bus.stream('llm.chat', '1.0', ask('x'))) {
      if (event.event === 'token' && ++seen === 2) break;
    }
    expect(engine.stoppedEarly).toBe(true);
    expect(bus.recentTraces(1)[0].result).toBe('cancelled');
  });

  it('withdraws the capabilities when no engine has a model any more, and skips an engine that cannot list', async () => {
    const models = ['qwen2.5-7b'];
    const engine = new ScriptedEngine('a', models);
    const broken: LlmEngine = { id: 'down', models: () => Promise.reject(new Error('connection refused')), generate: engine.generate.bind(engine) };
    const { bus, service } = await setUp([broken, engine]);
    expect(service.models).toEqual(['qwen2.5-7b']);
    models.length = 0;
    await service.refresh();
    expect(bus.capabilities().filter((c) => c.name.startsWith('llm.'))).toEqual([]);
  });
});

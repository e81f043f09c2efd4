/**
 * The LLM service (M04): offers `llm.chat@1.0` and `llm.complete@1.0` for every model this node's engines have —
 * one entry per capability with the primary model in `params.model` and all in `params.models` (DESIGN §3.11) — and
 * dispatches each call to the engine that owns the requested model. Streams `token` events; the `done` event (the
 * handler's return value) carries the model, token counts, the stop reason and the time taken.
 */
import { HearthError, type Clock } from '../core/index.js';
import type { CapabilityRegistration } from '../bus/index.js';
import type { CallContext, StreamEvent } from '../transport/index.js';
import type { GenerateRequest, GenerateResult, LlmEngine } from './engine.js';
import {
  CHAT_REQUEST_SCHEMA,
  COMPLETE_REQUEST_SCHEMA,
  TOKEN_STREAM_SCHEMA,
  parseChatRequest,
  parseCompleteRequest,
  type SamplingOptions
} from './requests.js';

export const LLM_VERSION = '1.0';
/** Generations at a time for an engine that does not say: a single GPU or CPU slows down sharply beyond two. */
const DEFAULT_ENGINE_CONCURRENCY = 2;
/** Longest silence between tokens (a model loading into memory can take this long before its first token). */
const TIMEOUT_SECONDS = 120;

export interface LlmDone {
  model: string;
  tokens_in: number;
  tokens_out: number;
  stop_reason: GenerateResult['stopReason'];
  ms: number;
  /** Who served it, so the Ask page can say "answered by …". */
  served_by: string;
}

export interface LlmServiceOptions {
  engines: readonly LlmEngine[];
  /** Offers a capability; returns the function that withdraws it (node.register). */
  register(registration: CapabilityRegistration): () => void;
  clock: Clock;
  selfId: string;
  log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

export class LlmService {
  private owners = new Map<string, LlmEngine>();
  private withdraw: (() => void)[] = [];
  private offered: string[] = [];
  private engines: readonly LlmEngine[];
  private refreshes = 0;

  constructor(private readonly options: LlmServiceOptions) {
    this.engines = options.engines;
  }

  /**
   * Changes the engines; takes effect at the next `refresh()`. The offer stays up meanwhile, so a model that is in
   * both sets (a server's, while a browser model is added) never disappears from the mesh.
   */
  setEngines(engines: readonly LlmEngine[]): void {
    this.engines = engines;
  }

  /** Models offered now, primary first. */
  get models(): readonly string[] {
    return this.offered;
  }

  /**
   * Asks every engine for its models and offers them (the first engine to list a model owns it). Withdraws the
   * capabilities when no engine has any model. Returns the models offered.
   */
  async refresh(): Promise<string[]> {
    // Built aside and swapped in at the end: calls during a slow model listing still find their engine.
    const owners = new Map<string, LlmEngine>();
    const mine = ++this.refreshes;
    for (const engine of this.engines) {
      let models: string[];
      try {
        models = await engine.models();
      } catch (err) {
        this.options.log?.('warn', 'an LLM engine did not list its models', { engine: engine.id, error: HearthError.from(err).message });
        continue;
      }
      for (const model of models) if (!owners.has(model)) owners.set(model, engine);
    }
    // A newer refresh (perhaps over other engines) started while this one listed models: its answer is the one that counts.
    if (mine !== this.refreshes) return [...this.offered];
    this.owners = owners;
    const models = [...owners.keys()];
    const concurrency = this.concurrencyOf(owners);
    if (models.join('\n') !== this.offered.join('\n') || concurrency !== this.offeredConcurrency) this.offer(models, concurrency);
    return models;
  }

  stop(): void {
    for (const withdraw of this.withdraw) withdraw();
    this.withdraw = [];
    this.offered = [];
    this.offeredConcurrency = 0;
  }

  private offeredConcurrency = 0;

  private concurrencyOf(owners: Map<string, LlmEngine>): number {
    return [...new Set(owners.values())].reduce((sum, engine) => sum + Math.max(1, engine.maxConcurrent ?? DEFAULT_ENGINE_CONCURRENCY), 0);
  }

  private offer(models: string[], maxConcurrent: number): void {
    this.stop();
    this.offered = models;
    this.offeredConcurrency = maxConcurrent;
    if (models.length === 0) return;
    const params = { model: models[0], models };
    const common = { version: LLM_VERSION, owner: 'llm', stability: 'stable' as const, params, maxConcurrent, timeoutSeconds: TIMEOUT_SECONDS, idempotent: false };
    this.withdraw = [
      this.options.register({
        ...common,
        name: 'llm.chat',
        requestSchema: CHAT_REQUEST_SCHEMA,
        streamSchema: TOKEN_STREAM_SCHEMA,
        handler: (body, ctx) => {
          const request = parseChatRequest(body);
          return this.run('llm.chat', request, { messages: request.messages }, ctx, (text, done) => ({ output: { message: { role: 'assistant', content: text } }, meta: done }));
        }
      }),
      this.options.register({
        ...common,
        name: 'llm.complete',
        requestSchema: COMPLETE_REQUEST_SCHEMA,
        streamSchema: TOKEN_STREAM_SCHEMA,
        handler: (body, ctx) => {
          const request = parseCompleteRequest(body);
          return this.run('llm.complete', request, { prompt: request.prompt }, ctx, (text, done) => ({ output: { text }, meta: done }));
        }
      })
    ];
    this.options.log?.('info', 'offering LLM models', { models });
  }

  /** A stream of `token` events ending in `done`, or (for `stream: false`) the whole answer at once. */
  private run(
    capability: string,
    sampling: SamplingOptions,
    content: Pick<GenerateRequest, 'messages' | 'prompt'>,
    ctx: CallContext,
    unary: (text: string, done: LlmDone) => unknown
  ): AsyncGenerator<StreamEvent, LlmDone, undefined> | Promise<unknown> {
    const model = sampling.model ?? this.offered[0];
    const engine = this.owners.get(model);
    if (!engine) {
      throw new HearthError('not_implemented', `this node does not have the model ${JSON.stringify(model)}; it has ${this.offered.join(', ') || 'none'}`, {
        extra: { alt_capabilities: this.offered.map((m) => `${capability}@${LLM_VERSION} model=${m}`) }
      });
    }
    const request: GenerateRequest = { model, ...content, maxTokens: sampling.maxTokens, temperature: sampling.temperature, topP: sampling.topP, stop: sampling.stop, seed: sampling.seed, signal: ctx.signal };
    const stream = this.tokens(engine, request);
    if (sampling.stream) return stream;
    return (async () => {
      let text = '';
      for (;;) {
        const next = await stream.next();
        if (next.done) return unary(text, next.value);
        text += (next.value.data as { text: string }).text;
      }
    })();
  }

  private async *tokens(engine: LlmEngine, request: GenerateRequest): AsyncGenerator<StreamEvent, LlmDone, undefined> {
    const started = this.options.clock.now();
    const generation = engine.generate(request);
    let result: GenerateResult | null = null;
    try {
      for (;;) {
        const next = await generation.next();
        if (next.done) {
          result = next.value;
          break;
        }
        if (next.value.text === '') continue;
        yield { event: 'token', data: next.value.logprob === undefined ? { text: next.value.text } : { text: next.value.text, logprob: next.value.logprob } };
      }
    } finally {
      // The caller went away (or the bus stopped us): stop the engine too, not only our loop.
      if (!result) await generation.return({ tokensIn: 0, tokensOut: 0, stopReason: 'cancelled' });
    }
    return {
      model: request.model,
      tokens_in: result.tokensIn,
      tokens_out: result.tokensOut,
      stop_reason: request.signal.aborted ? 'cancelled' : result.stopReason,
      ms: this.options.clock.now() - started,
      served_by: this.options.selfId
    };
  }
}

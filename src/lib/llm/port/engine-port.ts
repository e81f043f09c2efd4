/**
 * An engine in another thread. A model worker runs the model (WASM inference would otherwise stall the node
 * worker's event loop, and with it pings, sync and every other call) and serves its engine with
 * {@link serveEngine}; the node worker sees it through {@link PortEngine}, an ordinary {@link LlmEngine}.
 *
 * Tokens cross as calls of a callback the node side passes (comlink proxies it); cancelling calls `cancel(id)`
 * on the model side, which aborts that generation's signal there. Errors cross as wire errors and are rebuilt as
 * HearthErrors, so contract codes survive the hop.
 */
import { HearthError } from '../../core/errors.js';
import type { WireError } from '../../core/errors.js';
import type { GenerateRequest, GenerateResult, LlmEngine, TokenChunk } from '../engine.js';
import { Mailbox } from '../mailbox.js';

/** A generate request without its signal (signals cannot cross threads). */
export type PortGenerateRequest = Omit<GenerateRequest, 'signal'>;

export type PortOutcome = { ok: true; result: GenerateResult } | { ok: false; error: WireError };

/** What the model side exposes (through comlink). */
export interface EnginePortApi {
  id(): Promise<string>;
  models(): Promise<{ ok: true; models: string[] } | { ok: false; error: WireError }>;
  /** Resolves when the generation ends; `onToken` is called for every token before that. */
  generate(callId: string, request: PortGenerateRequest, onToken: (chunk: TokenChunk) => void): Promise<PortOutcome>;
  cancel(callId: string): Promise<void>;
}

function toWire(err: unknown): WireError {
  return HearthError.from(err).toWire();
}

/** The model side: serves `engine` to whoever holds the other end of the port. */
export function serveEngine(engine: LlmEngine): EnginePortApi {
  const running = new Map<string, AbortController>();
  return {
    async id() {
      return engine.id;
    },
    async models() {
      try {
        return { ok: true, models: await engine.models() };
      } catch (err) {
        return { ok: false, error: toWire(err) };
      }
    },
    async generate(callId, request, onToken) {
      const controller = new AbortController();
      running.set(callId, controller);
      try {
        const generation = engine.generate({ ...request, signal: controller.signal });
        let delivered: unknown = undefined;
        for (;;) {
          const next = await generation.next();
          if (next.done) {
            // The callback has its own channel: the answer must not overtake the last tokens.
            await delivered;
            return { ok: true, result: next.value };
          }
          // Not awaited per token: a round trip to the other thread each time would halve the rate (order is kept).
          delivered = onToken(next.value);
        }
      } catch (err) {
        return { ok: false, error: toWire(err) };
      } finally {
        running.delete(callId);
      }
    },
    async cancel(callId) {
      running.get(callId)?.abort();
    }
  };
}

let nextCallId = 0;

export interface PortEngineOptions {
  /** The remote API (a comlink `Remote<EnginePortApi>`, or the object itself in tests). */
  remote: EnginePortApi;
  id: string;
  /** The served engine's own limit, which the port cannot read synchronously. */
  maxConcurrent?: number;
  /** Wraps the token callback so it can cross the port (`Comlink.proxy`); identity in-thread. */
  proxy?: <T extends object>(callback: T) => T;
}

/** The node side: an engine whose model runs on the other end of a port. */
export class PortEngine implements LlmEngine {
  readonly id: string;
  readonly maxConcurrent?: number;
  private readonly remote: EnginePortApi;
  private readonly proxy: <T extends object>(callback: T) => T;
  private readonly running = new Set<Mailbox<TokenChunk>>();
  private closed: HearthError | null = null;

  constructor(options: PortEngineOptions) {
    this.id = options.id;
    this.maxConcurrent = options.maxConcurrent;
    this.remote = options.remote;
    this.proxy = options.proxy ?? ((callback) => callback);
  }

  /**
   * The other end is going away (its worker is about to be terminated): generations in progress fail with `reason`
   * now — a terminated worker never answers, and a caller would otherwise wait for its timeout.
   */
  close(reason: HearthError): void {
    this.closed = reason;
    for (const mailbox of this.running) mailbox.fail(reason);
    this.running.clear();
  }

  async models(): Promise<string[]> {
    if (this.closed) throw this.closed;
    const answer = await this.remote.models();
    if (!answer.ok) throw HearthError.fromWire(answer.error);
    return answer.models;
  }

  async *generate(request: GenerateRequest): AsyncGenerator<TokenChunk, GenerateResult, undefined> {
    if (this.closed) throw this.closed;
    const { signal, ...portable } = request;
    const callId = `port-${++nextCallId}`;
    const mailbox = new Mailbox<TokenChunk>();
    this.running.add(mailbox);
    let result: GenerateResult | null = null;
    let tokensOut = 0;
    this.remote.generate(callId, portable, this.proxy((chunk: TokenChunk) => mailbox.put(chunk))).then(
      (answer) => {
        if (answer.ok) {
          result = answer.result;
          mailbox.end();
        } else mailbox.fail(HearthError.fromWire(answer.error));
      },
      (err: unknown) => mailbox.fail(HearthError.from(err))
    );
    let ended = false;
    try {
      for (;;) {
        const next = await mailbox.take(signal);
        if (next.kind === 'aborted') break;
        if (next.kind === 'done') {
          ended = true;
          break;
        }
        tokensOut++;
        yield next.item;
      }
    } finally {
      this.running.delete(mailbox);
      // Cancelled, or our consumer stopped early (the caller went away): stop the model too.
      if (!ended) void this.remote.cancel(callId);
    }
    const done = result as GenerateResult | null;
    if (!ended || !done) return { tokensIn: done?.tokensIn ?? 0, tokensOut, stopReason: 'cancelled' };
    return signal.aborted ? { ...done, stopReason: 'cancelled' } : done;
  }
}

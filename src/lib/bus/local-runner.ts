/**
 * Runs a capability this node offers, with the bus's checks around the handler (M03 §5.3 c–k): trust, the request
 * schema, concurrency, the deadline, response or stream-frame schemas, in-flight accounting, and one recorded
 * outcome per attempt. The same path serves our own calls (the local short-circuit) and peers' calls.
 */
import { HearthError, type Clock } from '../core/index.js';
import { STREAM_EVENT_PATTERN, TERMINAL_EVENTS, isAsyncIterable, untilAborted, type CallContext, type Scheduler, type StreamEvent } from '../transport/index.js';
import { sizeOf, type Attempt, type AttemptRecorder, type BusCallResult } from './attempt.js';
import { label, type CapabilityEntry } from './capability.js';
import type { HealthTracker } from './health.js';
import { DEFAULT_RETRY_AFTER_MS } from './router.js';
import type { SchemaValidator } from './schema.js';
import type { CallTrace } from './trace.js';
import { meetsTrust, type MembershipView } from './trust.js';

export interface LocalCall {
  traceId: string;
  caller: string;
  direction: 'out' | 'in';
  /** The caller went away (cancel, closed link, aborted signal). */
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** `unary`: a BusCallResult (a stream is collected to its `done` data); `serve`/`stream`: the value or a guarded stream. */
export type RunMode = 'unary' | 'stream' | 'serve';

export interface LocalRunnerOptions {
  clock: Clock;
  scheduler: Scheduler;
  membership: MembershipView;
  schema: SchemaValidator;
  health: HealthTracker;
  record: (entry: CapabilityEntry) => AttemptRecorder;
  log: (level: 'error', message: string, fields: Record<string, unknown>) => void;
}

/** Codes that mean "never ran" on the wire (failover is safe); a handler that throws one is reporting something else. */
const RESERVED_FOR_REFUSALS: ReadonlySet<string> = new Set(['capacity_exceeded', 'rate_limited']);
const EVENT_NAME = new RegExp(STREAM_EVENT_PATTERN);

interface Running {
  entry: CapabilityEntry;
  name: string;
  controller: AbortController;
  /** Restarts the silence timer (streams). */
  touch(): void;
  /** Stops the silence timer while the consumer holds an event. */
  pause(): void;
  markStarted(): void;
  /** Once the handler returned a stream: release the slot if the stream is aborted before anyone reads it. */
  watchUnstarted(): void;
  finish(result: string, bytesOut: number, value?: unknown): CallTrace;
  /** The caller went away (as opposed to our deadline or a failure). */
  callerGone(): boolean;
  outcomeOf(err: unknown): string;
  trace(): CallTrace | null;
}

export class LocalRunner {
  constructor(private readonly options: LocalRunnerOptions) {}

  async run(entry: CapabilityEntry, body: unknown, call: LocalCall, mode: RunMode): Promise<unknown> {
    const attempt: Attempt = { traceId: call.traceId, caller: call.caller, direction: call.direction, started: this.options.clock.now(), bytesIn: sizeOf(body), stream: false };
    this.admit(entry, body, call, attempt);
    const running = this.start(entry, call, attempt);
    let result: unknown;
    try {
      const handlerCtx: CallContext = { caller: call.caller, requestId: call.traceId, signal: running.controller.signal };
      result = await untilAborted(
        Promise.resolve().then(() => entry.handler!(body, handlerCtx)),
        running.controller.signal
      );
    } catch (err) {
      const error = this.handlerError(running, err);
      running.finish(running.outcomeOf(error), 0);
      throw running.callerGone() ? err : error;
    }

    if (isAsyncIterable(result)) {
      attempt.stream = true;
      running.watchUnstarted();
      const guarded = this.guard(running, result);
      if (mode !== 'unary') return guarded;
      // A unary caller of a streaming handler gets the `done` data, as over the wire.
      for (;;) {
        const step = await guarded.next();
        if (step.done) return { result: step.value, trace: running.trace()! } satisfies BusCallResult;
      }
    }
    running.markStarted();
    try {
      if (entry.descriptor!.responseSchema !== null) this.options.schema.check(entry.schemaHash, running.name, 'response', result);
    } catch (err) {
      running.finish('internal_error', 0);
      this.options.log('error', 'handler broke its response schema', { capability: running.name, error: (err as Error).message });
      throw err;
    }
    const trace = running.finish('ok', sizeOf(result), result);
    return mode === 'unary' ? ({ result, trace } satisfies BusCallResult) : result;
  }

  /** Our own streaming call to a local capability: its events, then `done` with the handler's return value. */
  async *stream(entry: CapabilityEntry, body: unknown, call: LocalCall, progress: { yielded: number }): AsyncGenerator<StreamEvent, void, undefined> {
    const result = await this.run(entry, body, call, 'stream');
    if (!isAsyncIterable(result)) {
      progress.yielded++;
      yield { event: 'done', data: result };
      return;
    }
    const iterator = (result as AsyncGenerator<StreamEvent, unknown, undefined>)[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        const step = await iterator.next();
        if (step.done) {
          finished = true;
          progress.yielded++;
          yield { event: 'done', data: step.value ?? {} };
          return;
        }
        progress.yielded++;
        yield step.value;
      }
    } finally {
      if (!finished) await iterator.return?.(undefined);
    }
  }

  /** Trust, schema and capacity, before anything runs; a refusal is recorded and thrown. */
  private admit(entry: CapabilityEntry, body: unknown, call: LocalCall, attempt: Attempt): void {
    const { membership, schema, health } = this.options;
    const descriptor = entry.descriptor!;
    const name = label(entry.name, entry.version);
    const fail = (error: HearthError): never => {
      this.options.record(entry)(attempt, error.code, 0);
      throw error;
    };
    const level = membership.levelOf(call.caller);
    if (level === 'revoked') fail(new HearthError('revoked', `${call.caller} is revoked in this community`));
    if (!meetsTrust(level, descriptor.trustRequired)) {
      fail(new HearthError('unauthorized', `${name} requires trust level "${descriptor.trustRequired}"; the caller is "${level}"`));
    }
    try {
      schema.check(entry.schemaHash, name, 'request', body);
    } catch (err) {
      fail(HearthError.from(err));
    }
    if (entry.inFlight >= entry.maxConcurrent) {
      fail(
        new HearthError('capacity_exceeded', `${name} is already running ${entry.inFlight} calls here (its limit)`, {
          retryAfterMs: Math.ceil(health.stats(entry.key).p50Ms || DEFAULT_RETRY_AFTER_MS)
        })
      );
    }
  }

  /** Takes the slot and arms the deadline; everything it sets up is undone exactly once, by `finish`. */
  private start(entry: CapabilityEntry, call: LocalCall, attempt: Attempt): Running {
    const { scheduler } = this.options;
    const name = label(entry.name, entry.version);
    const timeoutMs = call.timeoutMs ?? entry.descriptor!.timeoutSeconds * 1000;
    const controller = new AbortController();
    let released = false;
    let started = false;
    let trace: CallTrace | null = null;
    entry.inFlight++;
    const expire = () => controller.abort(new HearthError('timeout', `${name} ${attempt.stream ? 'went silent for' : 'took longer than'} ${timeoutMs} ms`));
    let timer: ReturnType<Scheduler['setTimeout']> | null = scheduler.setTimeout(expire, timeoutMs);
    const stopTimer = () => {
      if (timer !== null) scheduler.clearTimeout(timer);
      timer = null;
    };
    const onCallerGone = () => controller.abort(call.signal!.reason);
    const finish = (result: string, bytesOut: number, value?: unknown): CallTrace => {
      if (!released) {
        released = true;
        stopTimer();
        call.signal?.removeEventListener('abort', onCallerGone);
        entry.inFlight--;
      }
      return (trace ??= this.options.record(entry)(attempt, result, bytesOut, value));
    };
    if (call.signal?.aborted) onCallerGone();
    else call.signal?.addEventListener('abort', onCallerGone, { once: true });
    return {
      entry,
      name,
      controller,
      touch() {
        if (released) return;
        stopTimer();
        timer = scheduler.setTimeout(expire, timeoutMs);
      },
      pause: stopTimer,
      markStarted() {
        started = true;
      },
      watchUnstarted() {
        // A stream handed to the transport may be dropped unstarted (the caller left first): nothing would ever
        // run its cleanup, so the abort itself releases the slot.
        controller.signal.addEventListener('abort', () => {
          if (!started) finish(call.signal?.aborted ? 'cancelled' : HearthError.from(controller.signal.reason).code, 0);
        });
      },
      finish,
      callerGone: () => call.signal?.aborted === true,
      outcomeOf: (err) => (call.signal?.aborted ? 'cancelled' : HearthError.from(err).code),
      trace: () => trace
    };
  }

  /** The error a handler's failure becomes: our deadline as `timeout`, and never a code reserved for refusals. */
  private handlerError(running: Running, err: unknown): HearthError {
    const { controller, name } = running;
    if (controller.signal.aborted && !running.callerGone()) return HearthError.from(controller.signal.reason);
    const error = HearthError.from(err);
    if (!RESERVED_FOR_REFUSALS.has(error.code)) return error;
    // Typically a nested bus call that was refused: this handler did run, so a retry elsewhere would run it twice.
    return new HearthError('internal_error', `${name} failed on a call it made: ${error.code}: ${error.message}`);
  }

  /** Validates each event, stops the handler when the caller goes away or the deadline passes, accounts at the end. */
  private async *guard(running: Running, events: AsyncIterable<StreamEvent>): AsyncGenerator<StreamEvent, unknown, undefined> {
    const { entry, name, controller } = running;
    running.markStarted();
    const iterator = events[Symbol.asyncIterator]();
    let bytesOut = 0;
    let outcome: string | null = null;
    try {
      for (;;) {
        running.touch();
        const step = await untilAborted(iterator.next(), controller.signal);
        if (step.done) {
          outcome = 'ok';
          running.finish('ok', bytesOut, step.value);
          return step.value;
        }
        const event = (step.value as StreamEvent | null)?.event;
        if (typeof event !== 'string' || !EVENT_NAME.test(event) || TERMINAL_EVENTS.has(event)) {
          // Terminal events belong to the bus and transport: a handler ends a stream by returning or throwing.
          throw new HearthError('internal_error', `${name} yielded an invalid stream event ${JSON.stringify(event)}`);
        }
        if (entry.descriptor!.streamSchema !== null) this.options.schema.check(entry.schemaHash, name, 'stream frame', step.value);
        bytesOut += sizeOf(step.value);
        // The consumer's pace is not the provider's silence.
        running.pause();
        yield step.value;
      }
    } catch (err) {
      const error = controller.signal.aborted ? this.handlerError(running, err) : HearthError.from(err);
      outcome = running.outcomeOf(error);
      if (!controller.signal.aborted) controller.abort(error); // a bad frame: the handler must stop too
      running.finish(outcome, bytesOut);
      throw outcome === 'cancelled' ? err : error;
    } finally {
      if (outcome === null) {
        // The consumer stopped early (break, cancel): stop the handler too.
        controller.abort(new HearthError('partition', 'the caller went away'));
        running.finish('cancelled', bytesOut);
      }
      void Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }
}

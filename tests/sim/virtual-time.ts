/**
 * Virtual time for tests: one object is both the Clock and the Scheduler of every node in a simulation. Time only
 * moves in advance(); before each timer fires, all pending promise work settles (crypto included, see
 * ordered-webcrypto.ts), so what one timer sets off completes before the next fires, and a run repeats exactly.
 */
import type { Clock } from '../../src/lib/core/index.js';
import type { Scheduler, TimerHandle } from '../../src/lib/transport/index.js';
import { settleOrderedCrypto } from './ordered-webcrypto.js';

interface Timer {
  id: number;
  due: number;
  order: number;
  fn: () => void;
  intervalMs: number | null;
}

export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

export class VirtualTime implements Clock, Scheduler {
  private nowMs: number;
  private nextId = 0;
  private readonly timers = new Map<number, Timer>();
  /** Exceptions thrown by timer callbacks; advance() rethrows the first one. */
  readonly errors: unknown[] = [];

  constructor(startMs = SIM_EPOCH_MS) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    if (!(ms > 0)) throw new Error('VirtualTime.setInterval: period must be positive');
    return this.add(fn, ms, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  clearInterval(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Lets every queued promise job run, waiting for ordered crypto operations to finish. */
  async settle(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await settleOrderedCrypto();
  }

  /** Runs every timer due within `ms`, in due order (ties in scheduling order), settling before each. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      await this.settle();
      const timer = this.earliestDueBy(target);
      if (!timer) break;
      this.nowMs = Math.max(this.nowMs, timer.due);
      this.fire(timer);
    }
    this.nowMs = target;
    await this.settle();
    if (this.errors.length) throw this.errors[0];
  }

  /** Advances in steps until `done()` holds; throws if it does not within `limitMs`. Returns the time taken. */
  async until(done: () => boolean, limitMs: number, stepMs = 10): Promise<number> {
    const start = this.nowMs;
    while (!done()) {
      if (this.nowMs - start >= limitMs) throw new Error(`condition not met within ${limitMs} ms of virtual time`);
      await this.advance(stepMs);
    }
    return this.nowMs - start;
  }

  /** Settles a promise while time runs, failing if it takes more than `limitMs` of virtual time. */
  async resolve<T>(promise: Promise<T>, limitMs = 60_000, stepMs = 10): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
    promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error })
    );
    await this.until(() => outcome !== null, limitMs, stepMs);
    const settled = outcome as unknown as { ok: true; value: T } | { ok: false; error: unknown };
    if (!settled.ok) throw settled.error;
    return settled.value;
  }

  /** Resolves after `ms` of virtual time; rejects with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = this.setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          this.clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true }
      );
    });
  }

  /** Reads a stream while time runs: the events seen, the error it ended with (null if none) and when it ended. */
  async collect<E>(iterable: AsyncIterable<E>, stopAfter = Infinity): Promise<{ events: E[]; error: unknown; at: number }> {
    const events: E[] = [];
    const run = (async () => {
      for await (const event of iterable) {
        events.push(event);
        if (events.length >= stopAfter) break;
      }
    })();
    const error = await this.resolve(run).then(
      () => null,
      (err: unknown) => err
    );
    return { events, error, at: this.nowMs };
  }

  private add(fn: () => void, ms: number, intervalMs: number | null): number {
    const id = ++this.nextId;
    this.timers.set(id, { id, due: this.nowMs + Math.max(0, ms), order: id, fn, intervalMs });
    return id;
  }

  private earliestDueBy(target: number): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.due > target) continue;
      if (!best || timer.due < best.due || (timer.due === best.due && timer.order < best.order)) best = timer;
    }
    return best;
  }

  private fire(timer: Timer): void {
    if (timer.intervalMs === null) this.timers.delete(timer.id);
    else {
      timer.due += timer.intervalMs;
      timer.order = ++this.nextId;
    }
    try {
      timer.fn();
    } catch (err) {
      this.errors.push(err);
    }
  }
}

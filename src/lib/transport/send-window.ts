/**
 * Provider side of stream flow control (P5): at most `size` frames may be unacknowledged. A provider that stays
 * blocked for `ackTimeoutMs` gives up with `timeout`: the caller is gone or stuck, and the handler must not hold
 * resources for it forever.
 */
import { HearthError, STREAM_ACK_TIMEOUT_SECONDS, STREAM_WINDOW_FRAMES } from '../core/index.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

export interface SendWindowOptions {
  scheduler: Scheduler;
  size?: number;
  ackTimeoutMs?: number;
}

interface Blocked {
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: TimerHandle;
  signal?: AbortSignal;
  onAbort: () => void;
}

export class SendWindow {
  private sent = 0;
  private acked = 0;
  private blocked: Blocked | null = null;
  readonly size: number;
  private readonly ackTimeoutMs: number;
  private readonly scheduler: Scheduler;

  constructor(options: SendWindowOptions) {
    this.scheduler = options.scheduler;
    this.size = options.size ?? STREAM_WINDOW_FRAMES;
    this.ackTimeoutMs = options.ackTimeoutMs ?? STREAM_ACK_TIMEOUT_SECONDS * 1000;
  }

  /** Frames sent and not yet acknowledged. */
  get inFlight(): number {
    return this.sent - this.acked;
  }

  /** Highest seq handed out so far; the terminal frame, exempt from the window, takes the next one. */
  get lastSeq(): number {
    return this.sent;
  }

  /**
   * Waits for room and returns the seq of the next frame. Rejects with `timeout` after the ack timeout, or with
   * the signal's reason when aborted.
   */
  async reserve(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) throw signal.reason;
    if (this.blocked) throw new Error('SendWindow.reserve: one frame at a time');
    if (this.inFlight >= this.size) await this.waitForAck(signal);
    return ++this.sent;
  }

  /** Cumulative: `upto` acknowledges every seq up to and including it. Stale or impossible acks are ignored. */
  ack(upto: number): void {
    if (!Number.isInteger(upto) || upto <= this.acked || upto > this.sent) return;
    this.acked = upto;
    if (this.blocked && this.inFlight < this.size) this.settle((blocked) => blocked.resolve());
  }

  private waitForAck(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => this.settle((blocked) => blocked.reject(signal!.reason));
      const timer = this.scheduler.setTimeout(() => {
        const seconds = this.ackTimeoutMs / 1000;
        this.settle((blocked) => blocked.reject(new HearthError('timeout', `no stream ack within ${seconds} s`)));
      }, this.ackTimeoutMs);
      this.blocked = { resolve, reject, timer, signal, onAbort };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private settle(finish: (blocked: Blocked) => void): void {
    const blocked = this.blocked;
    if (!blocked) return;
    this.blocked = null;
    this.scheduler.clearTimeout(blocked.timer);
    blocked.signal?.removeEventListener('abort', blocked.onAbort);
    finish(blocked);
  }
}

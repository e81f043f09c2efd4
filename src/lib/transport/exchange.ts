/**
 * Caller-side state of one outgoing request: turns the peer's response or stream frames into an ordered queue of
 * events that ends with exactly one terminal. A unary response is a stream of just its terminal: a body becomes
 * `done`, an error throws. Stream frames are put in `seq` order; duplicates are ignored.
 */
import { HearthError, type ResponseEnvelope, type WireError } from '../core/index.js';
import type { StreamEvent, StreamFrameObject } from './frame-types.js';
import { ReorderBuffer } from './reorder-buffer.js';

export class Exchange {
  private readonly reorder = new ReorderBuffer<StreamEvent>();
  private readonly queue: StreamEvent[] = [];
  private failed = false;
  private failure: unknown;
  private endedByPeer = false;
  private terminalQueued = false;
  private wake: (() => void) | null = null;
  /** Set once the call frame was handed to the link: only then is there anything to cancel. */
  callSent = false;

  constructor(
    readonly requestId: string,
    readonly peer: string,
    readonly linkId: string
  ) {}

  /** True once the terminal event was queued or the exchange failed: nothing more will arrive. */
  get finished(): boolean {
    return this.terminalQueued || this.failed;
  }

  onResponse(response: ResponseEnvelope): void {
    if (this.finished) return;
    this.endedByPeer = true;
    if (response.error) this.fail(HearthError.fromWire(response.error));
    else this.enqueue([{ event: 'done', data: response.body }], true);
  }

  onStreamFrame(frame: StreamFrameObject): void {
    if (this.finished) return;
    const ready = this.reorder.push(frame.seq, { event: frame.event, data: frame.data });
    const terminal = ready.findIndex((e) => e.event === 'done' || e.event === 'error');
    if (terminal !== -1) {
      this.endedByPeer = true;
      this.enqueue(ready.slice(0, terminal + 1), true);
      return;
    }
    this.enqueue(ready, false);
    // An error arriving across a gap still ends the stream now: whatever is missing will not come.
    if (frame.event === 'error') {
      this.endedByPeer = true;
      this.fail(HearthError.fromWire(frame.data as WireError));
    }
  }

  /** Ends the exchange with an error (timeout, partition, abort reason), after any events already in order. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.failed = true;
    this.failure = error;
    this.notify();
  }

  /** The next event in order; the terminal `done` is returned once, then `null`. Throws the failure. */
  async next(): Promise<StreamEvent | null> {
    while (this.queue.length === 0) {
      if (this.failed) throw this.failure;
      if (this.terminalQueued) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const event = this.queue.shift()!;
    if (event.event === 'error') throw HearthError.fromWire(event.data as WireError);
    return event;
  }

  /** True if next() would not wait. */
  get hasQueued(): boolean {
    return this.queue.length > 0 || this.finished;
  }

  /** True when the peer sent its terminal: it has stopped on its own, so there is nothing to cancel. */
  get peerFinished(): boolean {
    return this.endedByPeer;
  }

  private enqueue(events: StreamEvent[], terminal: boolean): void {
    this.queue.push(...events);
    if (terminal) this.terminalQueued = true;
    if (events.length) this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/**
 * Caller-side state of one outgoing request: turns the peer's response or stream frames into an ordered queue of
 * events that ends with exactly one terminal. A unary response is a stream of just its terminal: a body becomes
 * `done`, an error throws. Stream frames are put in `seq` order; duplicates are ignored. A frame that announces
 * chunk bytes (binary-parts.ts) takes its place in that order only once its binary parts are in and hash to its
 * `cid`; bytes that do not match fail the exchange with `bad_request`, so the caller can fetch elsewhere.
 */
import { HearthError, type Blake3Hasher, type ResponseEnvelope, type WireError } from '../core/index.js';
import { readChunkAnnouncement, type ChunkAnnouncement } from './binary-parts.js';
import { ChunkAssembly, type WholeChunk } from './chunk-assembly.js';
import { TERMINAL_EVENTS, type BinaryPartFrame, type FrameRejection, type StreamEvent, type StreamFrameObject } from './frame-types.js';
import { ReorderBuffer } from './reorder-buffer.js';

/** The BLAKE3 hasher: itself once loaded, its promise before. */
export type HasherSource = () => Blake3Hasher | Promise<Blake3Hasher>;

/** Loads the hasher on first need and hands it out synchronously from then on. */
export function lazyHasher(load: () => Promise<Blake3Hasher>): HasherSource {
  let ready: Blake3Hasher | null = null;
  let loading: Promise<Blake3Hasher> | null = null;
  return () => ready ?? (loading ??= load().then((hasher) => (ready = hasher)));
}

export class Exchange {
  private readonly reorder = new ReorderBuffer<StreamEvent>();
  private readonly queue: StreamEvent[] = [];
  private readonly chunks = new ChunkAssembly();
  /** Signed chunk frames waiting for their bytes, by seq. */
  private readonly awaitingBytes = new Map<number, StreamEvent>();
  /** Chunk bytes each queued event holds, given back to the assembly's bound when the consumer takes the event. */
  private readonly heldBy = new Map<StreamEvent, number>();
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
    readonly linkId: string,
    private readonly hasher: HasherSource | null = null
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
    if (this.finished || this.awaitingBytes.has(frame.seq)) return;
    const announcement = TERMINAL_EVENTS.has(frame.event) ? null : readChunkAnnouncement(frame.data);
    if (typeof announcement === 'string') {
      this.fail(new HearthError('bad_request', `stream frame ${frame.seq} from ${this.peer}: ${announcement}`));
      return;
    }
    if (announcement) {
      this.awaitBytes(frame, announcement);
      return;
    }
    this.push(frame.seq, { event: frame.event, data: frame.data });
    // An error arriving across a gap still ends the stream now: whatever is missing will not come.
    if (frame.event === 'error') {
      this.endedByPeer = true;
      this.fail(HearthError.fromWire(frame.data as WireError));
    }
  }

  /**
   * A binary part of this exchange (the session matched request and peer). Returns why it was dropped, or null.
   * The part that completes a chunk sets off its verification.
   */
  onBinaryPart(part: BinaryPartFrame): FrameRejection | null {
    if (this.finished) return { code: 'not_found', message: `binary part for ${this.requestId}, which has ended`, t: 'bin' };
    const verdict = this.chunks.accept(part);
    if (verdict.kind === 'rejected') return { code: verdict.code, message: verdict.message, t: 'bin' };
    if (verdict.kind === 'complete') this.verify(verdict);
    return null;
  }

  private awaitBytes(frame: StreamFrameObject, announcement: ChunkAnnouncement): void {
    // A duplicate, stale or far-ahead chunk frame is ignored like any such frame; its parts will find nothing.
    if (!this.reorder.accepts(frame.seq)) return;
    if (!this.chunks.announce(frame.seq, announcement)) {
      this.fail(new HearthError('bad_request', `${this.peer} sent more chunk bytes than the stream window allows`));
      return;
    }
    this.awaitingBytes.set(frame.seq, { event: frame.event, data: frame.data });
    const hasher = this.hasher?.(); // start loading it now, so it is ready when the bytes are
    if (hasher instanceof Promise) hasher.catch(() => {});
    const whole = this.chunks.takeIfComplete(frame.seq); // an empty chunk has no parts
    if (whole) this.verify(whole);
  }

  private verify(whole: WholeChunk): void {
    if (!this.hasher) {
      this.fail(new HearthError('internal_error', 'chunk bytes arrived but this exchange has no hasher to verify them'));
      return;
    }
    const hasher = this.hasher();
    if (!(hasher instanceof Promise)) return this.deliverChunk(whole, hasher);
    hasher.then(
      (loaded) => this.deliverChunk(whole, loaded),
      (err: unknown) => this.fail(new HearthError('internal_error', `no BLAKE3 hasher: ${HearthError.from(err).message}`))
    );
  }

  private deliverChunk({ seq, announcement, bytes }: WholeChunk, hasher: Blake3Hasher): void {
    const signed = this.awaitingBytes.get(seq);
    this.awaitingBytes.delete(seq);
    if (this.finished || !signed) return;
    const actual = hasher.cid(bytes);
    if (actual !== announcement.cid) {
      this.fail(new HearthError('bad_request', `chunk ${announcement.cid} from ${this.peer}: bytes do not match (they hash to ${actual})`));
      return;
    }
    // The caller sees what the handler yielded: the signed data with its bytes back, without our bookkeeping.
    const { binary_parts: _parts, ...data } = signed.data as Record<string, unknown>;
    const event: StreamEvent = { event: signed.event, data: { ...data, bytes } };
    this.heldBy.set(event, announcement.sizeBytes);
    this.push(seq, event);
  }

  private push(seq: number, event: StreamEvent): void {
    const ready = this.reorder.push(seq, event);
    const terminal = ready.findIndex((e) => e.event === 'done' || e.event === 'error');
    if (terminal !== -1) {
      this.endedByPeer = true;
      this.enqueue(ready.slice(0, terminal + 1), true);
      return;
    }
    this.enqueue(ready, false);
  }

  /** Ends the exchange with an error (timeout, partition, abort reason), after any events already in order. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.failed = true;
    this.failure = error;
    // Bytes still being assembled will never be delivered; queued events stay readable until the failure.
    this.chunks.clear();
    this.awaitingBytes.clear();
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
    const held = this.heldBy.get(event);
    if (held !== undefined) {
      this.heldBy.delete(event);
      this.chunks.release(held);
    }
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

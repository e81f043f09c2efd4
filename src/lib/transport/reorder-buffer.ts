/**
 * Caller side of a stream: frames may arrive out of order (a relay path, a reconnect) or twice. Holds early frames
 * by `seq` and releases them in order; duplicates, stale seqs and seqs beyond what the window allows are ignored,
 * so a peer cannot make us buffer without bound.
 */
import { STREAM_WINDOW_FRAMES } from '../core/index.js';

export class ReorderBuffer<T> {
  private nextSeq = 1;
  private readonly early = new Map<number, T>();

  /** `horizon`: how far past the next expected seq a frame may be (window plus the terminal frame). */
  constructor(private readonly horizon: number = STREAM_WINDOW_FRAMES + 1) {}

  /** False for a frame push() would ignore: a duplicate, a stale seq or one beyond the horizon. */
  accepts(seq: number): boolean {
    return Number.isInteger(seq) && seq >= this.nextSeq && seq < this.nextSeq + this.horizon && !this.early.has(seq);
  }

  /** Accepts frame `seq`; returns the frames now deliverable, in order (often none, often just this one). */
  push(seq: number, item: T): T[] {
    if (!this.accepts(seq)) return [];
    this.early.set(seq, item);
    const ready: T[] = [];
    for (let next = this.early.get(this.nextSeq); next !== undefined; next = this.early.get(this.nextSeq)) {
      this.early.delete(this.nextSeq);
      this.nextSeq++;
      ready.push(next);
    }
    return ready;
  }

  /** Seq of the next frame to deliver. */
  get expected(): number {
    return this.nextSeq;
  }

  /** Frames held while waiting for a gap to fill. */
  get held(): number {
    return this.early.size;
  }
}

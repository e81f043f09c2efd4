/**
 * Caller side of binary chunk parts for one exchange: holds a buffer per announced chunk, places each part at its
 * offset, and says when a chunk is whole. Peers are untrusted, so it refuses parts for chunks nobody announced,
 * parts that overlap or overrun, and more parts than announced; and it bounds the bytes one exchange may hold
 * (being assembled, or whole and not yet taken by the consumer).
 */
import { CHUNK_SIZE_BYTES, STREAM_WINDOW_FRAMES, type ErrorCode } from '../core/index.js';
import type { ChunkAnnouncement } from './binary-parts.js';
import type { BinaryPartFrame } from './frame-types.js';

/**
 * Chunk bytes one exchange may hold: an honest provider has at most a window of unacknowledged frames out, and the
 * terminal frame carries no bytes, so a full window of full chunks is the most it can make us keep.
 */
export const MAX_HELD_CHUNK_BYTES_PER_EXCHANGE = (STREAM_WINDOW_FRAMES + 1) * CHUNK_SIZE_BYTES;

interface PendingChunk {
  announcement: ChunkAnnouncement;
  buffer: Uint8Array;
  received: number;
  partsSeen: number;
  /** Byte ranges filled so far, [start, end). At most MAX_BINARY_PARTS_PER_CHUNK of them. */
  ranges: [number, number][];
}

export interface WholeChunk {
  kind: 'complete';
  seq: number;
  announcement: ChunkAnnouncement;
  bytes: Uint8Array;
}

export type PartVerdict = { kind: 'rejected'; code: ErrorCode; message: string } | { kind: 'partial' } | WholeChunk;

export class ChunkAssembly {
  private readonly pending = new Map<number, PendingChunk>();
  private heldBytes = 0;

  constructor(private readonly maxHeldBytes = MAX_HELD_CHUNK_BYTES_PER_EXCHANGE) {}

  /** Bytes held: chunks being assembled plus whole ones the consumer has not taken yet. */
  get held(): number {
    return this.heldBytes;
  }

  has(seq: number): boolean {
    return this.pending.has(seq);
  }

  /** Starts waiting for the bytes of frame `seq`. False when that would hold more than the bound allows. */
  announce(seq: number, announcement: ChunkAnnouncement): boolean {
    if (this.heldBytes + announcement.sizeBytes > this.maxHeldBytes) return false;
    this.heldBytes += announcement.sizeBytes;
    this.pending.set(seq, { announcement, buffer: new Uint8Array(announcement.sizeBytes), received: 0, partsSeen: 0, ranges: [] });
    return true;
  }

  /** An empty chunk is whole as soon as it is announced. */
  takeIfComplete(seq: number): WholeChunk | null {
    const chunk = this.pending.get(seq);
    if (!chunk || chunk.received !== chunk.announcement.sizeBytes) return null;
    this.pending.delete(seq);
    return { kind: 'complete', seq, announcement: chunk.announcement, bytes: chunk.buffer };
  }

  accept(part: BinaryPartFrame): PartVerdict {
    const chunk = this.pending.get(part.seq);
    if (!chunk) return { kind: 'rejected', code: 'not_found', message: `binary part for seq ${part.seq} of ${part.requestId}, which awaits no bytes` };
    const { sizeBytes, parts } = chunk.announcement;
    const start = part.offset;
    const end = start + part.bytes.length;
    if (end > sizeBytes) return { kind: 'rejected', code: 'bad_request', message: `binary part ${start}..${end} overruns the ${sizeBytes}-byte chunk at seq ${part.seq}` };
    if (chunk.partsSeen >= parts) return { kind: 'rejected', code: 'bad_request', message: `more than the ${parts} binary parts announced for seq ${part.seq}` };
    if (chunk.ranges.some(([s, e]) => start < e && s < end)) {
      return { kind: 'rejected', code: 'bad_request', message: `binary part ${start}..${end} overlaps bytes already received for seq ${part.seq}` };
    }
    chunk.buffer.set(part.bytes, start);
    chunk.ranges.push([start, end]);
    chunk.partsSeen++;
    chunk.received += part.bytes.length;
    return this.takeIfComplete(part.seq) ?? { kind: 'partial' };
  }

  /** The consumer took (or the exchange dropped) a whole chunk of this size. */
  release(sizeBytes: number): void {
    this.heldBytes = Math.max(0, this.heldBytes - sizeBytes);
  }

  /** Forgets everything, when the exchange ends. */
  clear(): void {
    this.pending.clear();
    this.heldBytes = 0;
  }
}

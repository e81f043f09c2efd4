/**
 * Range-based set reconciliation of event ids (DESIGN §3.8). Events are keyed by their replay position
 * (`lamport`, `event_id`); two nodes compare a fingerprint per key range, recurse only into ranges that differ, and
 * swap id lists once a range is small. What travels grows with the difference, not with the log, and holes left by
 * events that arrived out of order heal like any other difference.
 *
 * This module is the pure part: a Reconciler over one node's sorted keys answers the other side's messages. The
 * transport (a bus capability) and the event transfer build on it.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { utf8Encode } from '../core/index.js';

/** A key sorts like replay order: zero-padded Lamport, then the ULID. */
export function eventKey(lamport: number, eventId: string): string {
  return `${String(lamport).padStart(16, '0')}:${eventId}`;
}

export function eventIdOfKey(key: string): string {
  return key.slice(17);
}

/** [lo, hi): `hi` null means "to the end". */
export interface KeyRange {
  lo: string;
  hi: string | null;
}

export type RangeItem =
  | { range: KeyRange; kind: 'fingerprint'; count: number; fingerprint: string }
  | { range: KeyRange; kind: 'ids'; keys: string[] };

export interface ReconcileReply {
  /** Items for the other side to answer; empty when this exchange is finished from our side. */
  items: RangeItem[];
  /** Keys the other side has and we lack: ask for these events. */
  want: string[];
  /** Keys we have and the other side lacks: send these events. */
  offer: string[];
}

/** Below this many keys on either side, a range is settled by swapping id lists. */
export const RECONCILE_LEAF_SIZE = 32;
/** A differing range splits into this many parts. */
export const RECONCILE_FANOUT = 16;

export class Reconciler {
  private readonly keys: string[];

  /** `keys` need not be sorted or unique. */
  constructor(keys: Iterable<string>) {
    this.keys = [...new Set(keys)].sort();
  }

  /** The opening message: our whole key space, split. */
  open(): RangeItem[] {
    return this.split({ lo: '', hi: null });
  }

  /** Answers the other side's items. */
  respond(items: readonly RangeItem[]): ReconcileReply {
    const reply: ReconcileReply = { items: [], want: [], offer: [] };
    for (const item of items) {
      const ours = this.slice(item.range);
      if (item.kind === 'ids') {
        const mine = new Set(ours);
        reply.want.push(...item.keys.filter((key) => !mine.has(key) && inRange(key, item.range)));
        if (ours.length > RECONCILE_LEAF_SIZE) {
          // Many here, few there: answer with our fingerprints, and their small lists settle each part.
          reply.items.push(...this.split(item.range));
          continue;
        }
        const theirs = new Set(item.keys);
        reply.offer.push(...ours.filter((key) => !theirs.has(key)));
        continue;
      }
      if (item.count === ours.length && item.fingerprint === fingerprintOf(ours)) continue; // identical: settled
      // Only the side with few keys lists them, so no message grows with the log (PROTOCOL.md S2).
      if (ours.length <= RECONCILE_LEAF_SIZE) reply.items.push({ range: item.range, kind: 'ids', keys: ours });
      else reply.items.push(...this.split(item.range));
    }
    return reply;
  }

  /** Our keys in a range, split into fingerprinted parts (or a list, when few). */
  private split(range: KeyRange): RangeItem[] {
    const ours = this.slice(range);
    if (ours.length <= RECONCILE_LEAF_SIZE) return [{ range, kind: 'ids', keys: ours }];
    const items: RangeItem[] = [];
    const step = Math.ceil(ours.length / RECONCILE_FANOUT);
    for (let start = 0; start < ours.length; start += step) {
      const lo = start === 0 ? range.lo : ours[start];
      const hi = start + step < ours.length ? ours[start + step] : range.hi;
      const part = ours.slice(start, start + step);
      items.push({ range: { lo, hi }, kind: 'fingerprint', count: part.length, fingerprint: fingerprintOf(part) });
    }
    return items;
  }

  private slice(range: KeyRange): string[] {
    const from = lowerBound(this.keys, range.lo);
    const to = range.hi === null ? this.keys.length : lowerBound(this.keys, range.hi);
    return this.keys.slice(from, to);
  }
}

function inRange(key: string, range: KeyRange): boolean {
  return key >= range.lo && (range.hi === null || key < range.hi);
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** BLAKE3 of the sorted keys, newline-joined; 16 bytes are plenty to tell sets apart. */
export function fingerprintOf(sortedKeys: readonly string[]): string {
  return bytesToHex(blake3(utf8Encode(sortedKeys.join('\n')), { dkLen: 16 }));
}

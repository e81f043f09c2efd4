/**
 * Lamport clocks and replay order for the community log (contract §7.3, §7.4): every node counts per community,
 * ticks before it writes and jumps past what it receives; replay runs by `lamport`, ties broken by `event_id`.
 */
import { HearthError } from '../core/index.js';

/** Below 2^53 so that canonical JSON keeps every Lamport value exact (W1). */
export const MAX_LAMPORT = Number.MAX_SAFE_INTEGER;

export class LamportClock {
  constructor(private value = 0) {
    if (!Number.isSafeInteger(value) || value < 0) throw new HearthError('bad_request', `a Lamport value must be a whole number from 0, got ${value}`);
  }

  get current(): number {
    return this.value;
  }

  /** The value for an event we are about to write. */
  tick(): number {
    if (this.value >= MAX_LAMPORT) throw new HearthError('internal_error', 'the Lamport clock is exhausted');
    return ++this.value;
  }

  /** A received event's value: ours moves past it. */
  observe(received: number): void {
    if (!Number.isSafeInteger(received) || received < 0) return;
    this.value = Math.min(MAX_LAMPORT, Math.max(this.value, received) + 1);
  }
}

export interface Ordered {
  lamport: number;
  event_id: string;
}

/** Replay order: Lamport ascending, then event id (ULIDs sort by time). Total for distinct events. */
export function compareEvents(a: Ordered, b: Ordered): number {
  if (a.lamport !== b.lamport) return a.lamport - b.lamport;
  return a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0;
}

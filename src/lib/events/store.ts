/**
 * The EventStore port: where one community's verified events live. Browser (Dexie), bridge (SQLite) and memory
 * adapters implement it and pass the same acceptance suite (tests/unit/events/store-acceptance.ts).
 */
import type { EventEnvelope, EventType } from './envelope.js';
import { compareEvents, type Ordered } from './order.js';

/** How many of its own snapshots a store keeps; older ones are dropped when a newer one is saved. */
export const SNAPSHOTS_KEPT = 3;

/**
 * A snapshot as a store keeps it (snapshot.ts): where it stands in replay order, how many events it covers, and the
 * snapshot itself as the exact text its signature covers (canonical JSON without `signature`), so that checking it
 * needs no re-encoding of a state that may weigh megabytes.
 */
export interface StoredSnapshot {
  lamport: number;
  event_id: string;
  events: number;
  signed: string;
  signature: string;
}

export interface EventStore {
  /**
   * Stores the events whose `event_id` is new, all in one transaction, and returns those it stored. An id already
   * present is skipped, whatever its content: the log never rewrites history.
   */
  put(events: readonly EventEnvelope[]): Promise<EventEnvelope[]>;
  get(eventId: string): Promise<EventEnvelope | undefined>;
  /** Every event in replay order (contract §7.4). */
  all(): Promise<EventEnvelope[]>;
  /** The events strictly after `position` in replay order, in that order: the tail a snapshot does not cover. */
  after(position: Ordered): Promise<EventEnvelope[]>;
  /** The highest Lamport value stored, 0 when empty. */
  head(): Promise<number>;
  count(): Promise<number>;
  /** Optional: every event's replay position, in replay order, without reading the events themselves. */
  keys?(): Promise<Ordered[]>;
  /** Optional: the events of these types, in replay order. */
  ofTypes?(types: readonly EventType[]): Promise<EventEnvelope[]>;
  /** Optional: keeps one of this node's snapshots (replacing one at the same Lamport value) and prunes to SNAPSHOTS_KEPT. */
  saveSnapshot?(snapshot: StoredSnapshot): Promise<void>;
  /** Optional: the snapshot furthest along in replay order. */
  latestSnapshot?(): Promise<StoredSnapshot | undefined>;
}

/** Replay positions of every stored event, through `keys` when the store has it. */
export async function storedKeys(store: EventStore): Promise<Ordered[]> {
  if (store.keys) return store.keys();
  return (await store.all()).map(({ lamport, event_id }) => ({ lamport, event_id }));
}

/** The stored events of `types` in replay order, through `ofTypes` when the store has it. */
export async function storedOfTypes(store: EventStore, types: readonly EventType[]): Promise<EventEnvelope[]> {
  if (store.ofTypes) return store.ofTypes(types);
  return (await store.all()).filter((event) => types.includes(event.event_type));
}

/** In memory: for tests, simulations, and nodes that keep nothing. */
export class MemoryEventStore implements EventStore {
  private readonly byId = new Map<string, EventEnvelope>();
  private maxLamport = 0;
  private sorted: EventEnvelope[] | null = null;
  /** Ascending by Lamport value. */
  private snapshots: StoredSnapshot[] = [];

  async put(events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
    const added: EventEnvelope[] = [];
    for (const event of events) {
      if (this.byId.has(event.event_id)) continue;
      this.byId.set(event.event_id, event);
      this.maxLamport = Math.max(this.maxLamport, event.lamport);
      added.push(event);
    }
    if (added.length > 0) this.sorted = null;
    return added;
  }

  async get(eventId: string): Promise<EventEnvelope | undefined> {
    return this.byId.get(eventId);
  }

  async all(): Promise<EventEnvelope[]> {
    return [...this.inOrder()];
  }

  async after(position: Ordered): Promise<EventEnvelope[]> {
    const sorted = this.inOrder();
    // First index sorting after `position` (binary search: the tail is usually short).
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEvents(sorted[mid], position) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return sorted.slice(lo);
  }

  async head(): Promise<number> {
    return this.maxLamport;
  }

  async count(): Promise<number> {
    return this.byId.size;
  }

  async keys(): Promise<Ordered[]> {
    return this.inOrder().map(({ lamport, event_id }) => ({ lamport, event_id }));
  }

  async ofTypes(types: readonly EventType[]): Promise<EventEnvelope[]> {
    return this.inOrder().filter((event) => types.includes(event.event_type));
  }

  async saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    const kept = this.snapshots.filter((s) => s.lamport !== snapshot.lamport);
    kept.push({ ...snapshot });
    kept.sort((a, b) => a.lamport - b.lamport);
    this.snapshots = kept.slice(-SNAPSHOTS_KEPT);
  }

  async latestSnapshot(): Promise<StoredSnapshot | undefined> {
    const last = this.snapshots.at(-1);
    return last && { ...last };
  }

  private inOrder(): EventEnvelope[] {
    this.sorted ??= [...this.byId.values()].sort(compareEvents);
    return this.sorted;
  }
}

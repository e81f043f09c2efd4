/**
 * The EventStore port: where one community's verified events live. Browser (Dexie), bridge (SQLite) and memory
 * adapters implement it and pass the same acceptance suite (tests/unit/events/store-acceptance.ts).
 */
import type { EventEnvelope } from './envelope.js';
import { compareEvents } from './order.js';

export interface EventStore {
  /**
   * Stores the events whose `event_id` is new, all in one transaction, and returns those it stored. An id already
   * present is skipped, whatever its content: the log never rewrites history.
   */
  put(events: readonly EventEnvelope[]): Promise<EventEnvelope[]>;
  get(eventId: string): Promise<EventEnvelope | undefined>;
  /** Every event in replay order (contract §7.4). */
  all(): Promise<EventEnvelope[]>;
  /** The highest Lamport value stored, 0 when empty. */
  head(): Promise<number>;
  count(): Promise<number>;
}

/** In memory: for tests, simulations, and nodes that keep nothing. */
export class MemoryEventStore implements EventStore {
  private readonly byId = new Map<string, EventEnvelope>();
  private maxLamport = 0;

  async put(events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
    const added: EventEnvelope[] = [];
    for (const event of events) {
      if (this.byId.has(event.event_id)) continue;
      this.byId.set(event.event_id, event);
      this.maxLamport = Math.max(this.maxLamport, event.lamport);
      added.push(event);
    }
    return added;
  }

  async get(eventId: string): Promise<EventEnvelope | undefined> {
    return this.byId.get(eventId);
  }

  async all(): Promise<EventEnvelope[]> {
    return [...this.byId.values()].sort(compareEvents);
  }

  async head(): Promise<number> {
    return this.maxLamport;
  }

  async count(): Promise<number> {
    return this.byId.size;
  }
}

/**
 * One community's append-only log (X02 §3.3): our own events are ticked, signed and stored in one step; events from
 * peers are checked (shape, size, type, signature, community) before they are stored, and every stored event moves
 * the Lamport clock. Listeners hear each batch that was actually added, in replay order.
 */
import { canonicalJson, type Clock, type KeyPair, type UlidGenerator } from '../core/index.js';
import { checkEvent, signEvent, type EventEnvelope, type EventType } from './envelope.js';
import { LamportClock, compareEvents } from './order.js';
import type { EventStore } from './store.js';

export interface IngestResult {
  accepted: EventEnvelope[];
  /** Already stored, byte for byte. */
  duplicates: number;
  rejected: { eventId: string | null; code: 'bad_request' | 'invalid_signature'; reason: string }[];
}

export type EventListener = (added: readonly EventEnvelope[]) => void;

export interface EventLogOptions {
  store: EventStore;
  keyPair: KeyPair;
  communityId: string;
  clock: Clock;
  nextId: UlidGenerator;
}

export class EventLog {
  private readonly listeners = new Set<EventListener>();
  /** Writes run one at a time, so a Lamport value is never handed out twice. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: EventLogOptions,
    private readonly lamport: LamportClock
  ) {}

  static async open(options: EventLogOptions): Promise<EventLog> {
    return new EventLog(options, new LamportClock(await options.store.head()));
  }

  get communityId(): string {
    return this.options.communityId;
  }

  get head(): number {
    return this.lamport.current;
  }

  /** Mints, signs and stores one of our own events. */
  append(eventType: EventType, data: Record<string, unknown>): Promise<EventEnvelope> {
    return this.serialised(async () => {
      const { keyPair, communityId, clock, nextId, store } = this.options;
      const lamport = this.lamport.current + 1;
      const event = await signEvent(keyPair, { eventId: nextId(), lamport, wallClockMs: clock.now(), communityId, eventType, data });
      await store.put([event]);
      this.lamport.tick(); // to `lamport`, only once the event is stored: a failed write hands the value out again
      this.emit([event]);
      return event;
    });
  }

  /** Checks and stores events from a peer (any order, any mix); returns what happened to each. */
  ingest(candidates: readonly unknown[]): Promise<IngestResult> {
    return this.serialised(async () => {
      const result: IngestResult = { accepted: [], duplicates: 0, rejected: [] };
      const fresh: EventEnvelope[] = [];
      const seen = new Set<string>();
      for (const candidate of candidates) {
        const check = await checkEvent(candidate, this.options.communityId);
        const eventId = typeof (candidate as { event_id?: unknown } | null)?.event_id === 'string' ? (candidate as { event_id: string }).event_id : null;
        if (!check.ok) {
          result.rejected.push({ eventId, code: check.code, reason: check.reason });
          continue;
        }
        const stored = seen.has(check.event.event_id) ? undefined : await this.options.store.get(check.event.event_id);
        if (seen.has(check.event.event_id) || stored) {
          const same = stored ? canonicalJson(stored) === canonicalJson(check.event) : true;
          if (same) result.duplicates++;
          else result.rejected.push({ eventId, code: 'bad_request', reason: `event id ${eventId} is already used by another event` });
          continue;
        }
        seen.add(check.event.event_id);
        fresh.push(check.event);
      }
      const added = (await this.options.store.put(fresh)).sort(compareEvents);
      for (const event of added) this.lamport.observe(event.lamport);
      result.accepted = added;
      if (added.length > 0) this.emit(added);
      return result;
    });
  }

  /** Every stored event in replay order. */
  events(): Promise<EventEnvelope[]> {
    return this.options.store.all();
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  private emit(added: readonly EventEnvelope[]): void {
    for (const listener of [...this.listeners]) listener(added);
  }
}

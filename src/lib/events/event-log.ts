/**
 * One community's append-only log (X02 §3.3): our own events are ticked, signed and stored in one step; events from
 * peers are checked (shape, size, type, signature, community) before they are stored, and every stored event moves
 * the Lamport clock. Listeners hear each batch that was actually added, in replay order.
 */
import { canonicalJson, type Clock, type KeyPair, type UlidGenerator } from '../core/index.js';
import { checkEvent, signEvent, type EventEnvelope, type EventType } from './envelope.js';
import { LamportClock, compareEvents, type Ordered } from './order.js';
import { storedKeys, type EventStore } from './store.js';
import { eventKey } from './reconcile.js';

/** Why an event was not stored; `unauthorized` may pass later (its author's join had not arrived yet). */
export interface EventRefusal {
  code: 'bad_request' | 'invalid_signature' | 'unauthorized';
  reason: string;
}

export interface IngestResult {
  accepted: EventEnvelope[];
  /** Already stored, byte for byte. */
  duplicates: number;
  rejected: (EventRefusal & { eventId: string | null })[];
}

/** The community's admission rule for events that passed the envelope checks, applied in replay order. */
export type EventAdmission = (event: EventEnvelope) => Promise<EventRefusal | null>;

export type EventListener = (added: readonly EventEnvelope[]) => void;

export interface EventLogOptions {
  store: EventStore;
  keyPair: KeyPair;
  communityId: string;
  clock: Clock;
  nextId: UlidGenerator;
  /** Applied to peers' events only: our own are built to pass it. */
  admit?: EventAdmission;
  /**
   * After each ingest's write: the events stored, or null when the write failed. Lets an admission rule that learns
   * from what it admits (a join makes its author known) keep only what was actually stored.
   */
  afterStore?: (stored: readonly EventEnvelope[] | null) => void;
}

export class EventLog {
  private readonly listeners = new Set<EventListener>();
  /** Writes run one at a time, so a Lamport value is never handed out twice. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Replay keys of every stored event, kept in memory so sync never scans the store to compare logs. */
  private readonly keySet = new Set<string>();
  private sortedKeys: string[] | null = null;

  private constructor(
    private readonly options: EventLogOptions,
    private readonly lamport: LamportClock,
    stored: readonly Ordered[]
  ) {
    for (const key of stored) this.keySet.add(eventKey(key.lamport, key.event_id));
  }

  /** Reads only the stored events' replay keys (the store's `keys` when it has one): the views load what they need. */
  static async open(options: EventLogOptions): Promise<EventLog> {
    const stored = await storedKeys(options.store);
    const head = stored.length > 0 ? stored[stored.length - 1].lamport : 0;
    return new EventLog(options, new LamportClock(head), stored);
  }

  /** How many events are stored. */
  get size(): number {
    return this.keySet.size;
  }

  /** Every stored event's replay key (reconcile.ts), sorted. */
  keys(): readonly string[] {
    this.sortedKeys ??= [...this.keySet].sort();
    return this.sortedKeys;
  }

  /**
   * The highest Lamport value stored (contract §7.6's head), 0 when empty. Not `head`, which is the clock for our
   * next write and so may run ahead of what is stored.
   */
  get highestStored(): number {
    const keys = this.keys();
    const last = keys[keys.length - 1];
    return last === undefined ? 0 : Number.parseInt(last.slice(0, last.indexOf(':')), 10);
  }

  hasKey(key: string): boolean {
    return this.keySet.has(key);
  }

  get(eventId: string): Promise<EventEnvelope | undefined> {
    return this.options.store.get(eventId);
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
      this.indexKeys([event]);
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
      const seen = new Map<string, EventEnvelope>();
      for (const candidate of candidates) {
        const check = await checkEvent(candidate, this.options.communityId);
        const eventId = typeof (candidate as { event_id?: unknown } | null)?.event_id === 'string' ? (candidate as { event_id: string }).event_id : null;
        if (!check.ok) {
          result.rejected.push({ eventId, code: check.code, reason: check.reason });
          continue;
        }
        const earlier = seen.get(check.event.event_id) ?? (await this.options.store.get(check.event.event_id));
        if (earlier) {
          // The same id twice, in this batch or already stored: a duplicate only if it is the same event (E2).
          const same = canonicalJson(earlier) === canonicalJson(check.event);
          if (same) result.duplicates++;
          else result.rejected.push({ eventId, code: 'bad_request', reason: `event id ${eventId} is already used by another event` });
          continue;
        }
        seen.set(check.event.event_id, check.event);
        fresh.push(check.event);
      }
      // In replay order, so a join admitted early in a batch lets its author's later events in.
      fresh.sort(compareEvents);
      const admitted: EventEnvelope[] = [];
      for (const event of fresh) {
        const refusal = this.options.admit ? await this.options.admit(event) : null;
        if (refusal) result.rejected.push({ eventId: event.event_id, ...refusal });
        else admitted.push(event);
      }
      let added: EventEnvelope[];
      try {
        added = (await this.options.store.put(admitted)).sort(compareEvents);
      } catch (err) {
        this.options.afterStore?.(null);
        throw err;
      }
      this.options.afterStore?.(added);
      for (const event of added) this.lamport.observe(event.lamport);
      this.indexKeys(added);
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

  private indexKeys(added: readonly EventEnvelope[]): void {
    if (added.length === 0) return;
    for (const event of added) this.keySet.add(eventKey(event.lamport, event.event_id));
    this.sortedKeys = null;
  }

  private emit(added: readonly EventEnvelope[]): void {
    for (const listener of [...this.listeners]) listener(added);
  }
}

/**
 * Log sync between two nodes (DESIGN §3.8, PROTOCOL.md S1–S6). The caller drives; the answering side keeps no
 * state between messages. Every message carries three things, each bounded so a message always fits one frame:
 * - `items`: range fingerprints or small id lists (reconcile.ts) for the other side to answer;
 * - `want`: replay keys it lacks and asks for;
 * - `events`: events the other side lacks (asked for, or found missing while comparing).
 * The answer also says how many of the caller's items it `consumed` (the rest are sent again), and `offer`s keys
 * it found the caller lacks but had no room to send. The exchange ends when nothing is left to say either way.
 */
import { utf8Encode } from '../core/index.js';
import type { EventEnvelope } from './envelope.js';
import type { EventLog, IngestResult } from './event-log.js';
import { Reconciler, eventIdOfKey, type RangeItem } from './reconcile.js';

/** A whole message body stays below this, leaving room in a 64 KiB frame for the signed call around it. */
export const SYNC_MESSAGE_BYTES = 56 * 1024;
const ITEMS_BYTES = 16 * 1024;
/** For each of `want` and `offer`; what is left for events always fits the largest event (16 KiB). */
const KEYS_BYTES = 4 * 1024;
/** Room for events: what is left after items, `want`, and `offer` with its overflow allowance (see `place`). */
const EVENT_BYTES = SYNC_MESSAGE_BYTES - ITEMS_BYTES - 4 * KEYS_BYTES;
/** Events held for a retry within one exchange (S5); more are reported refused and come back in a later exchange. */
export const MAX_PARKED_EVENTS = 2_000;
/** Rounds one exchange may take before it gives up (a peer that never settles is misbehaving). */
export const SYNC_MAX_ROUNDS = 2_000;

export interface SyncRequest {
  items: RangeItem[];
  want: string[];
  events: EventEnvelope[];
}

export interface SyncReply {
  consumed: number;
  items: RangeItem[];
  want: string[];
  offer: string[];
  events: EventEnvelope[];
  /** What happened to the events the caller sent. */
  accepted: number;
  rejected: { event_id: string | null; code: string; reason: string }[];
}

const KEY = { type: 'string', maxLength: 64 };
const RANGE = { type: 'object', required: ['lo', 'hi'], properties: { lo: { type: 'string', maxLength: 64 }, hi: { type: ['string', 'null'], maxLength: 64 } } };
const ITEM = {
  type: 'object',
  required: ['range', 'kind'],
  properties: {
    range: RANGE,
    kind: { enum: ['fingerprint', 'ids'] },
    count: { type: 'integer', minimum: 0 },
    fingerprint: { type: 'string', maxLength: 64 },
    keys: { type: 'array', items: KEY, maxItems: 64 }
  }
};
/** Shapes only; each event is checked in full (size, shape, signature, admission) by the log on ingest. */
export const SYNC_MESSAGE_SCHEMA = {
  // An honest caller sends at most ITEMS_BYTES of items (about 100); each costs the answerer a hash over its range.
  items: { type: 'array', items: ITEM, maxItems: 128 },
  want: { type: 'array', items: KEY, maxItems: 1024 },
  events: { type: 'array', items: { type: 'object' }, maxItems: 1024 }
};

/** Bytes `value` takes as JSON (what a message budget counts). */
export function bytesOf(value: unknown): number {
  return utf8Encode(JSON.stringify(value)).length + 1;
}

/** Takes values from the front of `from` while they fit `budget`; returns what was taken and the bytes used. */
function takeWithin<T>(from: T[], budget: number): { taken: T[]; used: number } {
  const taken: T[] = [];
  let used = 0;
  while (from.length > 0) {
    const size = bytesOf(from[0]);
    if (used + size > budget) break;
    used += size;
    taken.push(from.shift()!);
  }
  return { taken, used };
}

async function eventsFor(log: EventLog, keys: string[], budget: number): Promise<{ events: EventEnvelope[]; left: string[] }> {
  const events: EventEnvelope[] = [];
  let used = 0;
  let i = 0;
  for (; i < keys.length; i++) {
    const event = await log.get(eventIdOfKey(keys[i]));
    if (!event) continue; // not ours to send (any more); the other side will not get it from us
    const size = bytesOf(event);
    if (used + size > budget) break;
    used += size;
    events.push(event);
  }
  return { events, left: keys.slice(i) };
}

/** The answering side: stateless, so any number of callers may sync at once. */
export class SyncResponder {
  private reconciler: { size: number; value: Reconciler } | null = null;

  constructor(private readonly log: EventLog) {}

  async respond(request: SyncRequest): Promise<SyncReply> {
    const ingested: IngestResult = request.events.length > 0 ? await this.log.ingest(request.events) : { accepted: [], duplicates: 0, rejected: [] };
    const reconciler = this.currentReconciler();
    const out = new ReplyBuilder();
    for (const key of request.want) await out.place(this.log, key, true);
    let consumed = 0;
    for (const item of request.items) {
      const reply = reconciler.respond([item]);
      // An item is consumed only if everything its answer needs fits; otherwise the caller sends it again.
      if (!(await out.tryAnswer(this.log, reply, consumed === 0))) break;
      consumed++;
    }
    return {
      ...out.result(),
      consumed,
      accepted: ingested.accepted.length,
      rejected: ingested.rejected.map((r) => ({ event_id: r.eventId, code: r.code, reason: r.reason }))
    };
  }

  private currentReconciler(): Reconciler {
    if (!this.reconciler || this.reconciler.size !== this.log.size) this.reconciler = { size: this.log.size, value: new Reconciler(this.log.keys()) };
    return this.reconciler.value;
  }
}

/** Fills one answer within its budgets; an event that does not fit is offered by key instead. */
class ReplyBuilder {
  private readonly items: RangeItem[] = [];
  private readonly want: string[] = [];
  private readonly offer: string[] = [];
  private readonly events: EventEnvelope[] = [];
  private itemsBytes = 0;
  private keysWant = 0;
  private keysOffer = 0;
  private eventBytes = 0;

  /**
   * Puts the event for `key` in the answer. When it does not fit: with `canOffer` its key goes in `offer` (the
   * other side asks again), otherwise nothing is added and the answer is false.
   */
  async place(log: EventLog, key: string, canOffer: boolean): Promise<boolean> {
    const event = await log.get(eventIdOfKey(key));
    if (!event) return true; // not ours (any more): nothing to send
    const size = bytesOf(event);
    if (this.eventBytes + size <= EVENT_BYTES) {
      this.eventBytes += size;
      this.events.push(event);
      return true;
    }
    if (!canOffer) return false;
    this.keysOffer += bytesOf(key);
    this.offer.push(key);
    return true;
  }

  /**
   * Adds the answer to one item if all of it fits, events included (the first always goes in, offering by key what
   * does not fit); false leaves this builder as it was, and the caller sends the item again. Deferring an item is
   * cheaper than offering its keys: it costs one range, not one key per event.
   */
  async tryAnswer(log: EventLog, reply: { items: RangeItem[]; want: string[]; offer: string[] }, first: boolean): Promise<boolean> {
    const itemsCost = bytesOf(reply.items);
    const wantCost = reply.want.reduce((n, key) => n + bytesOf(key), 0);
    if (!first && (this.itemsBytes + itemsCost > ITEMS_BYTES || this.keysWant + wantCost > KEYS_BYTES)) return false;
    const saved = { events: this.events.length, offer: this.offer.length, eventBytes: this.eventBytes, keysOffer: this.keysOffer };
    for (const key of reply.offer) {
      if (!(await this.place(log, key, first))) {
        this.events.length = saved.events;
        this.offer.length = saved.offer;
        this.eventBytes = saved.eventBytes;
        this.keysOffer = saved.keysOffer;
        return false;
      }
    }
    this.items.push(...reply.items);
    this.itemsBytes += itemsCost;
    this.want.push(...reply.want);
    this.keysWant += wantCost;
    return true;
  }

  result(): Pick<SyncReply, 'items' | 'want' | 'offer' | 'events'> {
    return { items: this.items, want: this.want, offer: this.offer, events: this.events };
  }
}

export interface SyncOutcome {
  rounds: number;
  /** Events we sent that the other side stored. */
  sent: number;
  /** Events we received and stored. */
  received: number;
  /** Events either side refused (with reasons, for logs). */
  refused: { event_id: string | null; code: string; reason: string }[];
  /** Message bytes both ways. */
  bytes: number;
}

/** The calling side of one exchange with one peer. `send` carries a request to the peer and returns its reply. */
export async function syncWith(log: EventLog, send: (request: SyncRequest) => Promise<SyncReply>): Promise<SyncOutcome> {
  const outcome: SyncOutcome = { rounds: 0, sent: 0, received: 0, refused: [], bytes: 0 };
  const reconciler = new Reconciler(log.keys());
  let pendingItems: RangeItem[] = reconciler.open();
  const want = new Set<string>();
  const push = new Set<string>();
  /** Events refused only because their author's join had not arrived yet (S5): tried again as events arrive. */
  const parked = new Map<string, EventEnvelope>();
  /** Items sent per message adapt to what the other side answers: items it defers would only travel again. */
  let itemsBudget = ITEMS_BYTES;
  while (pendingItems.length > 0 || want.size > 0 || push.size > 0) {
    if (++outcome.rounds > SYNC_MAX_ROUNDS) throw new Error(`sync did not settle within ${SYNC_MAX_ROUNDS} rounds`);
    const items = takeWithin([...pendingItems], itemsBudget).taken;
    const wantList = takeWithin([...want].sort(), KEYS_BYTES).taken;
    const budget = SYNC_MESSAGE_BYTES - bytesOf(items) - bytesOf(wantList) - 256;
    // In replay order, so the other side meets a genesis or a join before the events that depend on it.
    const pushKeys = [...push].sort();
    const { events, left } = await eventsFor(log, pushKeys, budget);
    for (const key of pushKeys.slice(0, pushKeys.length - left.length)) push.delete(key);
    const request: SyncRequest = { items, want: wantList, events };
    const reply = await send(request);
    outcome.bytes += bytesOf(request) + bytesOf(reply);
    outcome.sent += reply.accepted;
    outcome.refused.push(...reply.rejected);
    const consumed = Math.max(0, Math.min(reply.consumed, items.length));
    if (consumed === 0 && items.length > 0 && reply.items.length === 0 && events.length === 0 && wantList.length === 0) {
      throw new Error('the peer consumed nothing; sync stopped');
    }
    pendingItems = pendingItems.slice(consumed);
    itemsBudget = consumed < items.length ? Math.max(1024, bytesOf(items.slice(0, consumed)) + 512) : Math.min(ITEMS_BYTES, itemsBudget * 2);
    // What they sent: store it; anything we asked for and did not get is asked again only if it was offered again.
    if (reply.events.length > 0) await ingestAndRetry(log, reply.events, parked, outcome);
    for (const key of wantList) want.delete(key);
    for (const key of reply.offer) if (!log.hasKey(key)) want.add(key);
    for (const key of reply.want) push.add(key);
    // Their items are compared against what we had when the exchange began, so answers stay consistent.
    if (reply.items.length > 0) {
      const ours = reconciler.respond(reply.items);
      // Depth first: the leftmost ranges settle first, so events arrive roughly in replay order and the views
      // apply them incrementally instead of replaying the log again for every batch that lands in the past.
      pendingItems = [...ours.items, ...pendingItems];
      for (const key of ours.want) if (!log.hasKey(key)) want.add(key);
      for (const key of ours.offer) push.add(key);
    }
  }
  for (const event of parked.values()) outcome.refused.push({ event_id: event.event_id, code: 'unauthorized', reason: `event ${event.event_id} is by an author who never joined` });
  return outcome;
}

async function ingestAndRetry(log: EventLog, events: readonly EventEnvelope[], parked: Map<string, EventEnvelope>, outcome: SyncOutcome): Promise<void> {
  const stored = await log.ingest(events);
  outcome.received += stored.accepted.length;
  const byId = new Map(events.map((e) => [e.event_id, e]));
  for (const refusal of stored.rejected) {
    const event = refusal.eventId === null ? undefined : byId.get(refusal.eventId);
    // Bounded: a peer feeding events from keys that never joined must not grow this (or the retries) without end.
    if (refusal.code === 'unauthorized' && event && parked.size < MAX_PARKED_EVENTS) parked.set(event.event_id, event);
    else outcome.refused.push({ event_id: refusal.eventId, code: refusal.code, reason: refusal.reason });
  }
  if (stored.accepted.length === 0 || parked.size === 0) return;
  const retried = await log.ingest([...parked.values()]);
  outcome.received += retried.accepted.length;
  for (const event of retried.accepted) parked.delete(event.event_id);
}

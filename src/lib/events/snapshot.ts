/**
 * Snapshots (X02 §3.5, §5.4; contract §7.5) bound the replay a node does when it opens a long log: the views' state
 * at a replay position, signed, so that opening restores it and applies only the events after it.
 *
 * A node uses only its own snapshots, to restart quickly. It checks its own signature anyway (a store is a file or
 * an IndexedDB database that anything on the device may have changed) and ignores, with a log line, a snapshot
 * that is not signed by it, belongs to another community, or does not cover every stored event up to its position
 * (one that arrived later but sorts before it: the count of events up to the position tells). Bootstrapping a
 * newcomer from another node's snapshot is not done: every node keeps the full log (a newcomer syncs every event,
 * PROTOCOL.md S1–S3), and the admission gate needs every join anyway.
 *
 * The store keeps the signed text, not the object (StoredSnapshot): checking a snapshot is then one signature over
 * bytes already at hand, where re-encoding a state of 10 000 posts as canonical JSON costs about as much as
 * replaying them (bench/events.ts).
 */
import { canonicalJson, decodeSignature, parseNodeId, rfc3339, signBytes, utf8Encode, verifyEd25519, type Clock, type KeyPair } from '../core/index.js';
import type { Ordered } from './order.js';
import type { EventStore, StoredSnapshot } from './store.js';
import type { ReplayEngine } from './view.js';

export const SNAPSHOT_SCHEMA_VERSION = 1;
/** A snapshot is taken once this many events have gone through the views since the last one... */
export const SNAPSHOT_EVERY_EVENTS = 1000;
/** ...and not more often than this: taking one costs about as much as replaying its events. */
export const SNAPSHOT_MIN_INTERVAL_MS = 60_000;

/** Contract §7.5's snapshot, plus the replay position (`lamport` alone is ambiguous) and the events it covers. */
export interface Snapshot {
  schema_version: number;
  community_id: string;
  lamport: number;
  /** The last event covered, with `lamport`. */
  event_id: string;
  /** How many events the state covers: every stored event up to (lamport, event_id). */
  events: number;
  wall_clock: string;
  /** `ReplayEngine.snapshotState()`: each view's state under its name. */
  state: Record<string, unknown>;
  covers_events_up_to: number;
  signature: string;
}

export type SnapshotLog = (level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;

export interface SnapshotFields {
  communityId: string;
  position: Ordered;
  events: number;
  wallClockMs: number;
  state: Record<string, unknown>;
}

/** Signs a snapshot by `keyPair` (W2: over its canonical JSON without `signature`), in the form a store keeps. */
export async function signSnapshot(keyPair: KeyPair, fields: SnapshotFields): Promise<StoredSnapshot> {
  const { lamport, event_id } = fields.position;
  const unsigned: Omit<Snapshot, 'signature'> = {
    schema_version: SNAPSHOT_SCHEMA_VERSION,
    community_id: fields.communityId,
    lamport,
    event_id,
    events: fields.events,
    wall_clock: rfc3339(fields.wallClockMs),
    state: fields.state,
    covers_events_up_to: lamport
  };
  const signed = canonicalJson(unsigned);
  return { lamport, event_id, events: fields.events, signed, signature: await signBytes(utf8Encode(signed), keyPair) };
}

export type SnapshotCheck = { ok: true; snapshot: Snapshot } | { ok: false; reason: string };

/** The snapshot a store kept, if `signer` signed it for `communityId` and its parts agree; otherwise why not. */
export async function openSnapshot(stored: StoredSnapshot, signer: string, communityId: string): Promise<SnapshotCheck> {
  const signature = decodeSignature(stored.signature);
  if (!signature || typeof stored.signed !== 'string') return { ok: false, reason: 'it has no signature' };
  if (!(await verifyEd25519(signature, utf8Encode(stored.signed), parseNodeId(signer)))) return { ok: false, reason: 'its signature is not ours' };
  let parsed: Omit<Snapshot, 'signature'>;
  try {
    parsed = JSON.parse(stored.signed);
  } catch {
    return { ok: false, reason: 'it is not JSON' };
  }
  if (parsed?.schema_version !== SNAPSHOT_SCHEMA_VERSION) return { ok: false, reason: `schema_version ${parsed?.schema_version} is not ${SNAPSHOT_SCHEMA_VERSION}` };
  if (parsed.community_id !== communityId) return { ok: false, reason: 'it belongs to another community' };
  const agrees =
    parsed.lamport === stored.lamport &&
    parsed.covers_events_up_to === stored.lamport &&
    parsed.event_id === stored.event_id &&
    parsed.events === stored.events &&
    Number.isSafeInteger(parsed.events) &&
    parsed.events > 0 &&
    typeof parsed.state === 'object' &&
    parsed.state !== null &&
    !Array.isArray(parsed.state);
  if (!agrees) return { ok: false, reason: 'its position, count or state is malformed' };
  return { ok: true, snapshot: { ...parsed, signature: stored.signature } };
}

export interface RestoreOptions {
  engine: ReplayEngine;
  store: EventStore;
  keyPair: KeyPair;
  communityId: string;
  log?: SnapshotLog;
}

/**
 * Brings the engine's views up to the store's content: from this node's latest snapshot and the events after it
 * when there is a usable one, otherwise by replaying the whole log. Returns whether a snapshot was used.
 */
export async function restoreFromSnapshot(options: RestoreOptions): Promise<boolean> {
  const { engine, store, log } = options;
  let used = false;
  try {
    used = await restoreAndTail(options);
  } catch (err) {
    log?.('warn', `snapshot not used: ${(err as Error).message}`);
  }
  if (!used) engine.rebuild(await store.all());
  return used;
}

async function restoreAndTail({ engine, store, keyPair, communityId, log }: RestoreOptions): Promise<boolean> {
  const stored = await store.latestSnapshot?.();
  if (!stored) return false;
  const fields = { lamport: stored.lamport, event_id: stored.event_id };
  const check = await openSnapshot(stored, keyPair.nodeId, communityId);
  if (!check.ok) {
    log?.('warn', `snapshot ignored: ${check.reason}`, fields);
    return false;
  }
  const { snapshot } = check;
  const position = { lamport: snapshot.lamport, event_id: snapshot.event_id };
  // The tail first, then the count: an event stored in between makes the counts disagree, never agree wrongly.
  const tail = await store.after(position);
  const upToPosition = (await store.count()) - tail.length;
  if (upToPosition !== snapshot.events) {
    log?.('info', `snapshot ignored: ${upToPosition} events are stored up to its position, it covers ${snapshot.events}`, fields);
    return false;
  }
  engine.restore(snapshot.state, position, snapshot.events);
  await engine.added(tail, () => store.all());
  log?.('debug', `views restored from a snapshot, ${tail.length} events applied after it`, { ...fields, events: snapshot.events });
  return true;
}

export interface SnapshotterOptions {
  engine: ReplayEngine;
  /** Must have `saveSnapshot`; a store without it gets no snapshots. */
  store: EventStore;
  keyPair: KeyPair;
  communityId: string;
  clock: Clock;
  log?: SnapshotLog;
  everyEvents?: number;
  minIntervalMs?: number;
}

/**
 * Takes this node's snapshots of the engine's views: on demand (`take`), and once started, whenever
 * SNAPSHOT_EVERY_EVENTS events have gone through the views since the last one, at most every
 * SNAPSHOT_MIN_INTERVAL_MS. Replays count: after an event landed in the past, the last snapshot no longer covers
 * every event up to its position and would be ignored at the next open.
 */
export class Snapshotter {
  /** `engine.applyCount` at the last snapshot. Whatever the engine applied before we started is in no snapshot. */
  private appliedAtLast = 0;
  private lastTakenMs = -Infinity;
  private taking = false;

  constructor(private readonly options: SnapshotterOptions) {}

  /** Watches the engine and takes a snapshot whenever one is due (and at once, if one is due already). */
  start(): () => void {
    const unsubscribe = this.options.engine.subscribe(() => this.takeIfDue());
    this.takeIfDue();
    return unsubscribe;
  }

  get due(): boolean {
    const { engine, clock } = this.options;
    const every = this.options.everyEvents ?? SNAPSHOT_EVERY_EVENTS;
    const interval = this.options.minIntervalMs ?? SNAPSHOT_MIN_INTERVAL_MS;
    return !this.taking && engine.applyCount - this.appliedAtLast >= every && clock.now() - this.lastTakenMs >= interval;
  }

  /**
   * Signs and saves a snapshot at the engine's current position; null when there is nothing to cover or nowhere to
   * keep it. The state is read before the first await, so it matches the position whatever is applied meanwhile.
   */
  async take(): Promise<StoredSnapshot | null> {
    const { engine, store, keyPair, communityId, clock } = this.options;
    const position = engine.applied;
    if (!position || !store.saveSnapshot) return null;
    const fields: SnapshotFields = { communityId, position: { lamport: position.lamport, event_id: position.event_id }, events: engine.coveredCount, wallClockMs: clock.now(), state: engine.snapshotState() };
    const applied = engine.applyCount;
    this.lastTakenMs = fields.wallClockMs;
    this.taking = true;
    try {
      const stored = await signSnapshot(keyPair, fields);
      await store.saveSnapshot(stored);
      this.appliedAtLast = applied;
      return stored;
    } finally {
      this.taking = false;
    }
  }

  private takeIfDue(): void {
    if (!this.due) return;
    this.take().then(
      (stored) => stored && this.options.log?.('debug', 'snapshot taken', { lamport: stored.lamport, events: stored.events }),
      (err) => this.options.log?.('warn', `snapshot not taken: ${(err as Error).message}`)
    );
  }
}

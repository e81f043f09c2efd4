/**
 * The EventStore port over Dexie (IndexedDB), for browsers (DESIGN §5). One database per community, so leaving a
 * community is deleting one database, and one table keyed by `event_id`. The `[lamport+event_id]` index is replay
 * order itself: IndexedDB compares numbers numerically and strings by UTF-16 code unit, exactly as `compareEvents`.
 * A second table keeps this node's last snapshots (events/snapshot.ts), keyed by Lamport value.
 */
import Dexie, { type DexieOptions, type EntityTable } from 'dexie';
import { SNAPSHOTS_KEPT, compareEvents, type EventEnvelope, type EventStore, type EventType, type Ordered, type StoredSnapshot } from '../../events/index.js';

const REPLAY_ORDER = '[lamport+event_id]';

/**
 * `indexedDB` and `IDBKeyRange` let tests pass fake-indexeddb without touching globals. Durability is left to the
 * browser unless given: Chrome and Firefox default to 'relaxed' (a transaction may be lost if the OS crashes right
 * after it completes), acceptable for a node whose peers hold the same events and resync them.
 */
export type DexieEventStoreOptions = Pick<DexieOptions, 'indexedDB' | 'IDBKeyRange' | 'chromeTransactionDurability'>;

type EventsDb = Dexie & { events: EntityTable<EventEnvelope, 'event_id'>; snapshots: EntityTable<StoredSnapshot, 'lamport'> };

export function eventDatabaseName(communityId: string): string {
  // IndexedDB takes any string as a name; encoding is injective (no two communities share a database) and keeps
  // the ':' of `ed25519:...` and anything a peer invents printable in devtools.
  return `hearthnet-events-${encodeURIComponent(communityId)}`;
}

export class DexieEventStore implements EventStore {
  private constructor(private readonly db: EventsDb) {}

  static async open(communityId: string, options: DexieEventStoreOptions = {}): Promise<DexieEventStore> {
    const db = new Dexie(eventDatabaseName(communityId), options) as EventsDb;
    // Only indexed fields are declared; the whole envelope is stored as-is. Version 2 indexes `event_type` (the
    // admission gate reads membership events only at open; IndexedDB fills the new index from the stored events)
    // and adds the snapshots table.
    db.version(1).stores({ events: `event_id, ${REPLAY_ORDER}` });
    db.version(2).stores({ events: `event_id, ${REPLAY_ORDER}, event_type`, snapshots: 'lamport' });
    await db.open();
    return new DexieEventStore(db);
  }

  async put(events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
    // One transaction per batch: each IndexedDB transaction costs milliseconds, and the read and the write must
    // see the same state so two concurrent puts of one id cannot both add it.
    return this.db.transaction('rw', this.db.events, async () => {
      const present = await this.db.events.bulkGet(events.map((e) => e.event_id));
      const seen = new Set<string>();
      const added: EventEnvelope[] = [];
      events.forEach((event, i) => {
        // The first of any repeat within the batch wins, like an id already stored; bulkAdd would otherwise fail
        // the whole transaction with a ConstraintError.
        if (present[i] || seen.has(event.event_id)) return;
        seen.add(event.event_id);
        added.push(event);
      });
      if (added.length > 0) await this.db.events.bulkAdd(added);
      return added;
    });
  }

  async get(eventId: string): Promise<EventEnvelope | undefined> {
    return this.db.events.get(eventId);
  }

  async all(): Promise<EventEnvelope[]> {
    return this.db.events.orderBy(REPLAY_ORDER).toArray();
  }

  async after(position: Ordered): Promise<EventEnvelope[]> {
    return this.db.events.where(REPLAY_ORDER).above([position.lamport, position.event_id]).toArray();
  }

  async keys(): Promise<Ordered[]> {
    // Index keys only: IndexedDB never deserialises the envelopes.
    const keys = (await this.db.events.orderBy(REPLAY_ORDER).keys()) as unknown as [number, string][];
    return keys.map(([lamport, event_id]) => ({ lamport, event_id }));
  }

  async ofTypes(types: readonly EventType[]): Promise<EventEnvelope[]> {
    return (await this.db.events.where('event_type').anyOf([...types]).toArray()).sort(compareEvents);
  }

  async saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    await this.db.transaction('rw', this.db.snapshots, async () => {
      await this.db.snapshots.put({ ...snapshot });
      const older = await this.db.snapshots.orderBy('lamport').reverse().offset(SNAPSHOTS_KEPT).primaryKeys();
      if (older.length > 0) await this.db.snapshots.bulkDelete(older);
    });
  }

  async latestSnapshot(): Promise<StoredSnapshot | undefined> {
    return this.db.snapshots.orderBy('lamport').last();
  }

  async head(): Promise<number> {
    // The last key of the replay index is [highest lamport, its greatest id]; reading the key skips the value.
    const last = (await this.db.events.orderBy(REPLAY_ORDER).lastKey()) as [number, string] | undefined;
    return last ? last[0] : 0;
  }

  async count(): Promise<number> {
    return this.db.events.count();
  }

  close(): void {
    this.db.close();
  }

  /** Drops the community's database (tests, leaving a community). The store is closed afterwards. */
  async delete(): Promise<void> {
    await this.db.delete();
  }
}

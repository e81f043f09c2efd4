/**
 * The EventStore port over SQLite (better-sqlite3), for the bridge (DESIGN §5): one file per community, each event
 * kept as its JSON text next to the two columns replay order needs. better-sqlite3 is synchronous: the methods are
 * async only because the port is, and a put blocks the event loop while it runs. On the dev VM that is ~5 ms for
 * 1,000 events and ~150 µs for one, mostly the fsync at commit (bench/event-store.ts); an SD card's fsync costs
 * milliseconds, so callers should put whole batches.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EventEnvelope, EventStore } from '../src/lib/events/index.js';

/**
 * A community id is any string of up to 128 characters (ids are base64url, so case matters). Its SHA-256 in hex is
 * a file name that is safe on every file system, case-insensitive ones included, and never shared by two
 * communities. The id itself is in every row: `SELECT json_extract(json, '$.community_id') FROM events LIMIT 1`.
 */
export function eventStorePath(dir: string, communityId: string): string {
  return join(dir, `events-${createHash('sha256').update(communityId).digest('hex')}.sqlite`);
}

export class SqliteEventStore implements EventStore {
  private readonly insert: Database.Statement<[string, number, string]>;
  private readonly byId: Database.Statement<[string], { json: string }>;
  private readonly inOrder: Database.Statement<[], { json: string }>;
  private readonly maxLamport: Database.Statement<[], { head: number | null }>;
  private readonly total: Database.Statement<[], { n: number }>;
  private readonly putAll: (events: readonly EventEnvelope[]) => EventEnvelope[];

  private constructor(private readonly db: Database.Database) {
    // The bridge acknowledges a put to peers, who may then forget the event: a put that returned must survive a
    // crash and a power loss. WAL with synchronous=FULL fsyncs the log at every commit (NORMAL would survive a
    // process crash but could lose the last commits on power loss).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, lamport INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS events_replay ON events (lamport, event_id);
    `);
    // OR IGNORE: an id already present is skipped whatever its content; the log never rewrites history.
    this.insert = db.prepare('INSERT OR IGNORE INTO events (event_id, lamport, json) VALUES (?, ?, ?)');
    this.byId = db.prepare('SELECT json FROM events WHERE event_id = ?');
    // Event ids are ULIDs (ASCII), so SQLite's byte-wise text order equals compareEvents' UTF-16 order.
    this.inOrder = db.prepare('SELECT json FROM events ORDER BY lamport, event_id');
    this.maxLamport = db.prepare('SELECT MAX(lamport) AS head FROM events');
    this.total = db.prepare('SELECT COUNT(*) AS n FROM events');
    // One transaction per batch: one fsync for the batch instead of one per event, and all or nothing.
    this.putAll = db.transaction((events: readonly EventEnvelope[]) =>
      events.filter((event) => this.insert.run(event.event_id, event.lamport, JSON.stringify(event)).changes === 1)
    );
  }

  /** Opens (creating if needed) the store of `communityId` under `dir`. */
  static open(dir: string, communityId: string): SqliteEventStore {
    mkdirSync(dir, { recursive: true });
    return new SqliteEventStore(new Database(eventStorePath(dir, communityId)));
  }

  async put(events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
    return this.putAll(events);
  }

  async get(eventId: string): Promise<EventEnvelope | undefined> {
    const row = this.byId.get(eventId);
    return row ? (JSON.parse(row.json) as EventEnvelope) : undefined;
  }

  async all(): Promise<EventEnvelope[]> {
    return this.inOrder.all().map((row) => JSON.parse(row.json) as EventEnvelope);
  }

  async head(): Promise<number> {
    return this.maxLamport.get()?.head ?? 0;
  }

  async count(): Promise<number> {
    return this.total.get()?.n ?? 0;
  }

  close(): void {
    this.db.close();
  }
}

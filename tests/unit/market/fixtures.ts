/**
 * A small community for marketplace tests: real signed events from one EventLog per author, each event also ingested
 * by the others so Lamport clocks move as on a real mesh. Standing is a plain map the test sets (the community view
 * is not needed to test the marketplace's rules).
 */
import { keyPairFromSeed, ulidGenerator } from '../../../src/lib/core/index.js';
import type { CallerLevel } from '../../../src/lib/bus/index.js';
import { EventLog, MemoryEventStore, type EventEnvelope, type EventType } from '../../../src/lib/events/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

export const COMMUNITY = 'ed25519:' + 'C'.repeat(43);
export const DAY_MS = 24 * 3600 * 1000;

export class Standing {
  private readonly levels = new Map<string, CallerLevel>();
  set(nodeId: string, level: CallerLevel): void {
    this.levels.set(nodeId, level);
  }
  levelOf = (nodeId: string): CallerLevel => this.levels.get(nodeId) ?? 'none';
}

export interface Author {
  id: string;
  log: EventLog;
  emit(eventType: EventType, data: Record<string, unknown>): Promise<EventEnvelope>;
}

export class Community {
  readonly time = new VirtualTime();
  readonly standing = new Standing();
  readonly events: EventEnvelope[] = [];
  /** When false, authors do not hear each other: their events get concurrent Lamport values. */
  connected = true;
  private readonly logs: EventLog[] = [];

  async author(seed: number, level: CallerLevel = 'member'): Promise<Author> {
    const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(seed));
    const log = await EventLog.open({ store: new MemoryEventStore(), keyPair, communityId: COMMUNITY, clock: this.time, nextId: ulidGenerator(this.time) });
    if (this.events.length > 0) await log.ingest(this.events);
    this.logs.push(log);
    this.standing.set(keyPair.nodeId, level);
    const emit = async (eventType: EventType, data: Record<string, unknown>) => {
      const event = await log.append(eventType, data);
      if (this.connected) for (const other of this.logs) if (other !== log) await other.ingest([event]);
      this.events.push(event);
      return event;
    };
    return { id: keyPair.nodeId, log, emit };
  }
}

export function postData(clientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: clientId, category: 'offer', title: `Post ${clientId}`, body: '', tags: [], ttl_seconds: 86_400, ...extra };
}

/** A seeded shuffle (mulberry32), so a failing seed can be rerun. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

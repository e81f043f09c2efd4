import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, ulidGenerator, utf8Encode } from '../../../src/lib/core/index.js';
import { EventLog, MemoryEventStore, SYNC_MESSAGE_BYTES, SyncResponder, signEvent, syncWith, type EventEnvelope, type SyncReply, type SyncRequest } from '../../../src/lib/events/index.js';
import { mulberry32 } from '../../../src/lib/transport/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

const COMMUNITY = 'ed25519:' + 'C'.repeat(43);

async function openLog(seed: number): Promise<EventLog> {
  const time = new VirtualTime();
  const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(seed));
  return EventLog.open({ store: new MemoryEventStore(), keyPair, communityId: COMMUNITY, clock: time, nextId: ulidGenerator(time) });
}

/** Events by several authors, signed once and shared out between logs by the tests. */
async function makeEvents(n: number, bodyChars = 40): Promise<EventEnvelope[]> {
  const authors = await Promise.all([11, 12, 13].map((s) => keyPairFromSeed(new Uint8Array(32).fill(s))));
  const time = new VirtualTime();
  const nextId = ulidGenerator(time);
  const out: EventEnvelope[] = [];
  for (let i = 0; i < n; i++) {
    await time.advance(1);
    out.push(await signEvent(authors[i % 3], { eventId: nextId(), lamport: 1 + Math.floor(i / 3), wallClockMs: time.now(), communityId: COMMUNITY, eventType: 'market.post.created', data: { i, body: 'x'.repeat(bodyChars) } }));
  }
  return out;
}

/** A wire between two logs that measures every message. */
function wire(responder: SyncResponder) {
  const sizes: number[] = [];
  const send = async (request: SyncRequest): Promise<SyncReply> => {
    const req = JSON.parse(JSON.stringify(request)) as SyncRequest;
    sizes.push(utf8Encode(JSON.stringify(req)).length);
    const reply = await responder.respond(req);
    sizes.push(utf8Encode(JSON.stringify(reply)).length);
    return JSON.parse(JSON.stringify(reply)) as SyncReply;
  };
  return { send, sizes };
}

describe('log sync (PROTOCOL.md S1–S6)', () => {
  it('two logs that each hold events the other lacks end identical, and no message exceeds its budget', async () => {
    const events = await makeEvents(600);
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = mulberry32(seed);
      const [a, b] = [await openLog(1), await openLog(2)];
      await a.ingest(events.filter(() => rng() < 0.7));
      await b.ingest(events.filter(() => rng() < 0.7));
      const { send, sizes } = wire(new SyncResponder(b));
      const outcome = await syncWith(a, send);
      expect([...a.keys()], `seed ${seed}`).toEqual([...b.keys()]);
      expect(a.size).toBeGreaterThan(500);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(SYNC_MESSAGE_BYTES);
      expect(outcome.refused).toEqual([]);
    }
  });

  it('a node that missed everything catches up; large events travel a few per message', async () => {
    const events = await makeEvents(300, 12_000);
    const [a, b] = [await openLog(1), await openLog(2)];
    await b.ingest(events);
    const { send, sizes } = wire(new SyncResponder(b));
    const outcome = await syncWith(a, send);
    expect(outcome.received).toBe(300);
    expect(a.size).toBe(300);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(SYNC_MESSAGE_BYTES);
  });

  it('identical logs settle in one round trip', async () => {
    const events = await makeEvents(200);
    const [a, b] = [await openLog(1), await openLog(2)];
    await a.ingest(events);
    await b.ingest(events);
    const outcome = await syncWith(a, wire(new SyncResponder(b)).send);
    expect(outcome).toMatchObject({ rounds: 1, sent: 0, received: 0 });
  });

  it('events the other side refuses are reported, not retried forever', async () => {
    const events = await makeEvents(10);
    const a = await openLog(1);
    await a.ingest(events);
    const time = new VirtualTime();
    const strict = await EventLog.open({
      store: new MemoryEventStore(),
      keyPair: await keyPairFromSeed(new Uint8Array(32).fill(2)),
      communityId: COMMUNITY,
      clock: time,
      nextId: ulidGenerator(time),
      admit: async (event) => (event.data.i === 3 ? { code: 'unauthorized', reason: 'not a member' } : null)
    });
    const outcome = await syncWith(a, wire(new SyncResponder(strict)).send);
    expect(strict.size).toBe(9);
    expect(outcome.refused.map((r) => r.code)).toEqual(['unauthorized']);
  });

  it('events refused until an earlier-arriving dependency lands are retried within the same exchange (S5)', async () => {
    // The "genesis" sorts last, so the catch-up meets every other event before it and the gate refuses them first.
    const events = await makeEvents(300);
    const genesis = events[events.length - 1];
    const source = await openLog(1);
    await source.ingest(events);
    const time = new VirtualTime();
    let open = false;
    const gated = await EventLog.open({
      store: new MemoryEventStore(),
      keyPair: await keyPairFromSeed(new Uint8Array(32).fill(2)),
      communityId: COMMUNITY,
      clock: time,
      nextId: ulidGenerator(time),
      admit: async (event) => {
        if (event.event_id === genesis.event_id) open = true;
        return open ? null : { code: 'unauthorized', reason: 'author not joined yet' };
      }
    });
    const outcome = await syncWith(gated, wire(new SyncResponder(source)).send);
    expect(gated.size).toBe(300);
    expect(outcome.refused).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, ulidGenerator, type KeyPair } from '../../../src/lib/core/index.js';
import { EventLog, MemoryEventStore, signEvent, type EventEnvelope } from '../../../src/lib/events/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';
import { eventStoreAcceptance } from './store-acceptance.js';

eventStoreAcceptance('memory', async () => new MemoryEventStore());

const COMMUNITY = 'ed25519:' + 'C'.repeat(43);

async function logFor(seed: number, store = new MemoryEventStore()): Promise<{ log: EventLog; keyPair: KeyPair; store: MemoryEventStore }> {
  const time = new VirtualTime();
  const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(seed));
  const log = await EventLog.open({ store, keyPair, communityId: COMMUNITY, clock: time, nextId: ulidGenerator(time) });
  return { log, keyPair, store };
}

describe('EventLog (X02 §3.3)', () => {
  it('appends our events with consecutive Lamport values, even when written at once', async () => {
    const { log } = await logFor(1);
    const written = await Promise.all([1, 2, 3].map((i) => log.append('market.post.created', { i })));
    expect(written.map((e) => e.lamport)).toEqual([1, 2, 3]);
    expect(log.head).toBe(3);
    expect((await log.events()).map((e) => e.data.i)).toEqual([1, 2, 3]);
  });

  it('ingests a peer\'s events in any order, moves the clock past them, and reports duplicates and refusals', async () => {
    const alice = await logFor(1);
    const bob = await logFor(2);
    const mine = [await alice.log.append('market.post.created', { n: 1 }), await alice.log.append('market.post.created', { n: 2 })];
    const heard: EventEnvelope[][] = [];
    bob.log.subscribe((added) => heard.push([...added]));
    const forged = { ...mine[0], event_id: '01HXR0000000000000000000ZZ', data: { n: 99 } };
    const result = await bob.log.ingest([mine[1], mine[0], mine[1], forged, 'garbage']);
    expect(result.accepted.map((e) => e.lamport)).toEqual([1, 2]);
    expect(result.duplicates).toBe(1);
    expect(result.rejected.map((r) => r.code)).toEqual(['invalid_signature', 'bad_request']);
    expect(heard).toHaveLength(1);
    expect(bob.log.head).toBe(3); // max(0, 2) + 1, then observed again
    // Bob's next event comes after everything he has seen.
    expect((await bob.log.append('market.post.created', { n: 3 })).lamport).toBeGreaterThan(2);
    expect(heard).toHaveLength(2); // listeners hear our own events too
    // Ingesting the same batch again adds nothing and tells nobody.
    expect(await bob.log.ingest(mine)).toMatchObject({ accepted: [], duplicates: 2, rejected: [] });
    expect(heard).toHaveLength(2);
  });

  it('refuses a second event under an id already used, and keeps the first', async () => {
    const alice = await logFor(1);
    const bob = await logFor(2);
    const first = await alice.log.append('market.post.created', { n: 1 });
    await bob.log.ingest([first]);
    // The same author signs different content under the used id (a buggy or hostile device).
    const sneaky = await signEvent(alice.keyPair, { eventId: first.event_id, lamport: 5, wallClockMs: 0, communityId: COMMUNITY, eventType: 'market.post.created', data: { n: 'replaced' } });
    const result = await bob.log.ingest([sneaky]);
    expect(result.rejected).toEqual([{ eventId: first.event_id, code: 'bad_request', reason: expect.stringMatching(/already used by another event/) }]);
    expect((await bob.store.get(first.event_id))?.data).toEqual({ n: 1 });
  });

  it('reopens on a store with events and continues after its head', async () => {
    const store = new MemoryEventStore();
    const first = await logFor(1, store);
    await first.log.append('market.post.created', { n: 1 });
    await first.log.append('market.post.created', { n: 2 });
    const again = await logFor(1, store);
    expect(again.log.head).toBe(2);
    expect((await again.log.append('market.post.created', { n: 3 })).lamport).toBe(3);
  });
});

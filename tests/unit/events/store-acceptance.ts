/** The EventStore port's acceptance suite: every adapter (memory, Dexie, SQLite) runs it unchanged. */
import { describe, expect, it } from 'vitest';
import { keyPairFromSeed } from '../../../src/lib/core/index.js';
import { signEvent, type EventEnvelope, type EventStore, type EventType, type StoredSnapshot } from '../../../src/lib/events/index.js';

const COMMUNITY = 'ed25519:' + 'C'.repeat(43);

async function events(lamports: number[], types: EventType[] = []): Promise<EventEnvelope[]> {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(3));
  return Promise.all(
    lamports.map((lamport, i) =>
      signEvent(kp, { eventId: `01HXR00000000000000000000${'ABCDEFGHJK'[i]}`, lamport, wallClockMs: Date.UTC(2026, 0, 1), communityId: COMMUNITY, eventType: types[i] ?? 'market.post.created', data: { i } })
    )
  );
}

const label = (e: EventEnvelope) => `${e.lamport} ${e.event_id.slice(-1)}`;

function snapshot(lamport: number, text: string): StoredSnapshot {
  return { lamport, event_id: `01HXR00000000000000000000${'ABCDEFGHJK'[lamport % 10]}`, events: lamport * 2, signed: JSON.stringify({ text }), signature: `ed25519:${'A'.repeat(86)}` };
}

export interface AcceptanceOptions {
  /** Closes `store` and opens the same storage again; only for stores that outlive their handle. */
  reopen?: (store: EventStore) => Promise<EventStore>;
}

export function eventStoreAcceptance(name: string, open: () => Promise<EventStore>, options: AcceptanceOptions = {}): void {
  describe(`EventStore acceptance: ${name}`, () => {
    it('starts empty', async () => {
      const store = await open();
      expect(await store.count()).toBe(0);
      expect(await store.head()).toBe(0);
      expect(await store.all()).toEqual([]);
    });

    it('stores new ids once, returns what it added, and never rewrites an id', async () => {
      const store = await open();
      const [a, b, c] = await events([3, 1, 2]);
      expect(await store.put([a, b])).toEqual([a, b]);
      expect(await store.put([b, c])).toEqual([c]);
      const rewritten = { ...a, data: { changed: true } };
      expect(await store.put([rewritten])).toEqual([]);
      expect(await store.get(a.event_id)).toEqual(a);
      expect(await store.count()).toBe(3);
      expect(await store.head()).toBe(3);
    });

    it('returns everything in replay order: lamport, then event id', async () => {
      const store = await open();
      const [a, b, c, d] = await events([2, 1, 2, 1]);
      await store.put([a, b, c, d]);
      expect((await store.all()).map(label)).toEqual(['1 B', '1 D', '2 A', '2 C']);
    });

    it('returns the events strictly after a replay position, in replay order', async () => {
      const store = await open();
      const [a, b, c, d, e] = await events([2, 1, 2, 1, 3]);
      await store.put([a, b, c, d, e]);
      expect((await store.after({ lamport: 1, event_id: d.event_id })).map(label)).toEqual(['2 A', '2 C', '3 E']);
      expect((await store.after({ lamport: 2, event_id: a.event_id })).map(label)).toEqual(['2 C', '3 E']);
      // A position no event holds: between 1 B and 1 D.
      expect((await store.after({ lamport: 1, event_id: '01HXR00000000000000000000C' })).map(label)).toEqual(['1 D', '2 A', '2 C', '3 E']);
      expect((await store.after({ lamport: 0, event_id: '' })).map(label)).toEqual(['1 B', '1 D', '2 A', '2 C', '3 E']);
      expect(await store.after({ lamport: 3, event_id: e.event_id })).toEqual([]);
    });

    it('lists replay keys without the events, in replay order (optional)', async ({ skip }) => {
      const store = await open();
      if (!store.keys) return skip();
      expect(await store.keys()).toEqual([]);
      const [a, b, c] = await events([2, 1, 2]);
      await store.put([a, b, c]);
      expect(await store.keys()).toEqual([b, a, c].map((e) => ({ lamport: e.lamport, event_id: e.event_id })));
    });

    it('returns the events of some types, in replay order (optional)', async ({ skip }) => {
      const store = await open();
      if (!store.ofTypes) return skip();
      const stored = await events([3, 1, 2, 4], ['community.member.joined', 'community.created', 'market.post.created', 'community.member.invited']);
      await store.put(stored);
      expect((await store.ofTypes(['community.created', 'community.member.joined', 'community.member.invited'])).map(label)).toEqual(['1 B', '3 A', '4 D']);
      expect(await store.ofTypes(['chat.message.sent'])).toEqual([]);
      expect(await store.ofTypes([])).toEqual([]);
    });

    it('keeps snapshots: none at first, the furthest along wins, one at the same Lamport value is replaced (optional)', async ({ skip }) => {
      const store = await open();
      if (!store.saveSnapshot || !store.latestSnapshot) return skip();
      expect(await store.latestSnapshot()).toBeUndefined();
      await store.saveSnapshot(snapshot(5, 'five'));
      expect(await store.latestSnapshot()).toEqual(snapshot(5, 'five'));
      await store.saveSnapshot(snapshot(9, 'nine'));
      await store.saveSnapshot(snapshot(7, 'seven')); // saved later but not as far along
      expect(await store.latestSnapshot()).toEqual(snapshot(9, 'nine'));
      await store.saveSnapshot(snapshot(9, 'nine again'));
      expect(await store.latestSnapshot()).toEqual(snapshot(9, 'nine again'));
      for (let lamport = 10; lamport < 20; lamport++) await store.saveSnapshot(snapshot(lamport, `${lamport}`));
      expect(await store.latestSnapshot()).toEqual(snapshot(19, '19'));
    });

    it('keeps events and snapshots across reopening (where the store outlives its handle)', async ({ skip }) => {
      if (!options.reopen) return skip();
      const store = await open();
      const stored = await events([2, 1, 3]);
      await store.put(stored);
      await store.saveSnapshot?.(snapshot(2, 'two'));
      const again = await options.reopen(store);
      expect((await again.all()).map(label)).toEqual(['1 B', '2 A', '3 C']);
      expect((await again.after({ lamport: 2, event_id: stored[0].event_id })).map(label)).toEqual(['3 C']);
      if (again.latestSnapshot) expect(await again.latestSnapshot()).toEqual(snapshot(2, 'two'));
    });
  });
}

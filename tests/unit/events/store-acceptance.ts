/** The EventStore port's acceptance suite: every adapter (memory, Dexie, SQLite) runs it unchanged. */
import { describe, expect, it } from 'vitest';
import { keyPairFromSeed } from '../../../src/lib/core/index.js';
import { signEvent, type EventEnvelope, type EventStore } from '../../../src/lib/events/index.js';

const COMMUNITY = 'ed25519:' + 'C'.repeat(43);

async function events(lamports: number[]): Promise<EventEnvelope[]> {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(3));
  return Promise.all(
    lamports.map((lamport, i) =>
      signEvent(kp, { eventId: `01HXR00000000000000000000${'ABCDEFGHJK'[i]}`, lamport, wallClockMs: Date.UTC(2026, 0, 1), communityId: COMMUNITY, eventType: 'market.post.created', data: { i } })
    )
  );
}

export function eventStoreAcceptance(name: string, open: () => Promise<EventStore>): void {
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
      expect((await store.all()).map((e) => `${e.lamport} ${e.event_id.slice(-1)}`)).toEqual(['1 B', '1 D', '2 A', '2 C']);
    });
  });
}

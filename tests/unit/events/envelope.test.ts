import { describe, expect, it } from 'vitest';
import { canonicalJson, keyPairFromSeed, signPayload, type KeyPair } from '../../../src/lib/core/index.js';
import { LamportClock, MAX_EVENT_BYTES, checkEvent, compareEvents, signEvent, type EventEnvelope } from '../../../src/lib/events/index.js';

const COMMUNITY = 'ed25519:' + 'C'.repeat(43);
const T0 = Date.UTC(2026, 4, 26, 8, 14, 22);

async function alice(): Promise<KeyPair> {
  return keyPairFromSeed(new Uint8Array(32).fill(7));
}

async function post(kp: KeyPair, lamport = 1, data: Record<string, unknown> = { title: 'Spare blankets', category: 'offer' }): Promise<EventEnvelope> {
  return signEvent(kp, { eventId: '01HXR0000000000000000000A' + lamport % 10, lamport, wallClockMs: T0, communityId: COMMUNITY, eventType: 'market.post.created', data });
}

describe('event envelope (contract §7.1)', () => {
  it('signs exactly the contract fields, and a receiver accepts it', async () => {
    const kp = await alice();
    const event = await post(kp);
    expect(Object.keys(event).sort()).toEqual(['author', 'community_id', 'data', 'event_id', 'event_type', 'lamport', 'schema_version', 'signature', 'wall_clock']);
    expect(event).toMatchObject({ schema_version: 1, author: kp.nodeId, wall_clock: '2026-05-26T08:14:22Z', lamport: 1 });
    expect(await checkEvent(event, COMMUNITY)).toEqual({ ok: true, event });
  });

  it('refuses a changed field, another author, or a re-signature by someone else with invalid_signature', async () => {
    const kp = await alice();
    const mallory = await keyPairFromSeed(new Uint8Array(32).fill(9));
    const event = await post(kp);
    expect(await checkEvent({ ...event, data: { title: 'Free generator' } })).toMatchObject({ ok: false, code: 'invalid_signature' });
    expect(await checkEvent({ ...event, lamport: 2 })).toMatchObject({ ok: false, code: 'invalid_signature' });
    expect(await checkEvent({ ...event, author: mallory.nodeId })).toMatchObject({ ok: false, code: 'invalid_signature' });
    // Mallory signs Alice's content as Alice: the signature must be Alice's own.
    const { signature: _drop, ...unsigned } = event;
    const forged = { ...(await signPayload(unsigned, mallory)), author: kp.nodeId };
    expect(await checkEvent(forged)).toMatchObject({ ok: false, code: 'invalid_signature' });
  });

  it('refuses bad shapes with bad_request, naming the problem, before checking any signature', async () => {
    const event = await post(await alice());
    const cases: [unknown, RegExp][] = [
      [null, /must be object/],
      [{ ...event, extra: 1 }, /must NOT have additional properties/],
      [{ ...event, schema_version: 2 }, /schema_version/],
      [{ ...event, lamport: 0 }, /lamport/],
      [{ ...event, lamport: 1.5 }, /lamport/],
      [{ ...event, event_id: 'not-a-ulid' }, /event_id/],
      [{ ...event, wall_clock: 'yesterday' }, /wall_clock/],
      [{ ...event, event_type: 'market.post.deleted' }, /unknown event_type "market.post.deleted"/],
      [{ ...event, event_type: 'federation.peer.added' }, /unknown event_type/],
      [{ ...event, data: [] }, /data must be object/]
    ];
    for (const [candidate, reason] of cases) {
      const check = await checkEvent(candidate);
      expect(check, JSON.stringify(candidate)?.slice(0, 80)).toMatchObject({ ok: false, code: 'bad_request', reason: expect.stringMatching(reason) });
    }
  });

  it('refuses an event of another community, and one over the size limit (which cannot even be signed)', async () => {
    const kp = await alice();
    const event = await post(kp);
    expect(await checkEvent(event, 'ed25519:' + 'D'.repeat(43))).toMatchObject({ ok: false, code: 'bad_request', reason: expect.stringMatching(/another community/) });
    await expect(post(kp, 1, { body: 'x'.repeat(MAX_EVENT_BYTES) })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/over the 16384-byte limit/) });
    const { signature: _drop, ...unsigned } = event;
    const huge = await signPayload({ ...unsigned, data: { body: 'x'.repeat(MAX_EVENT_BYTES) } }, kp);
    expect(await checkEvent(huge)).toMatchObject({ ok: false, code: 'bad_request', reason: expect.stringMatching(/over the 16384-byte limit/) });
    expect(canonicalJson(event).length).toBeLessThan(MAX_EVENT_BYTES);
  });
});

describe('Lamport clock and replay order (contract §7.3, §7.4)', () => {
  it('ticks before each write and jumps past what it receives', () => {
    const clock = new LamportClock();
    expect(clock.tick()).toBe(1);
    expect(clock.tick()).toBe(2);
    clock.observe(10);
    expect(clock.current).toBe(11);
    clock.observe(3); // an old event still moves us on by one
    expect(clock.current).toBe(12);
    expect(clock.tick()).toBe(13);
    clock.observe(-1);
    clock.observe(Number.NaN);
    expect(clock.current).toBe(13);
    expect(() => new LamportClock(-1)).toThrow(/whole number/);
  });

  it('orders by lamport, then event id, whatever order events arrived in', () => {
    const events = [
      { lamport: 2, event_id: '01B' },
      { lamport: 1, event_id: '01Z' },
      { lamport: 2, event_id: '01A' },
      { lamport: 3, event_id: '00A' }
    ];
    const expected = ['1 01Z', '2 01A', '2 01B', '3 00A'];
    for (const shuffled of [events, [...events].reverse(), [events[2], events[0], events[3], events[1]]]) {
      expect([...shuffled].sort(compareEvents).map((e) => `${e.lamport} ${e.event_id}`)).toEqual(expected);
    }
  });
});

/** The four capabilities on a real bus: descriptors register, and calls pass the request and response schemas. */
import { describe, expect, it } from 'vitest';
import type { CallerLevel } from '../../../src/lib/bus/index.js';
import { makeBus } from '../bus/harness.js';
import { Community } from './fixtures.js';
import { marketNode } from './service-fixtures.js';

describe('market.* registrations', () => {
  it('post and expire are for this node only; list and search for every member', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    const trust = Object.fromEntries(Object.values(node.caps).map((r) => [r.name, r.trustRequired]));
    expect(trust).toEqual({ 'market.list': 'member', 'market.post': 'self', 'market.expire': 'self', 'market.search': 'member' });
  });

  it('serve the contract\'s example requests through the bus, answers fitting their response schemas', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    const membership = { levelOf: (id: string): CallerLevel => (id === node.me.id ? 'self' : c.standing.levelOf(id)) };
    const { bus } = makeBus({ selfId: node.me.id, clock: c.time, scheduler: c.time, membership });
    for (const registration of Object.values(node.caps)) bus.register(registration);
    // Not under c.time.resolve: nothing here waits on a timer, and advancing virtual time while real signatures are
    // computed made the call's virtual deadline pass on a busy machine (a flaky timeout).
    const call = (name: string, input: unknown) => bus.call(name, '1.0', { params: {}, input }) as Promise<{ output: Record<string, unknown> }>;

    // Contract §4.12, §4.11, §4.14, §4.13 examples.
    const posted = await call('market.post', {
      client_id: '01HXR0000000000000000000AA',
      category: 'request',
      title: 'Suche Wasserkanister, 20L',
      body: 'Brauche bis morgen ...',
      location: { lat: 51.5, lng: 6.2, label: 'Issum' },
      tags: ['wasser', 'notfall'],
      ttl_seconds: 86400
    });
    const listed = await call('market.list', { category: 'request', tags: ['wasser'], since_lamport: 0, limit: 50 });
    expect(listed.output.posts).toMatchObject([{ event_id: posted.output.event_id, location: { label: 'Issum' } }]);
    const found = await call('market.search', { query: 'wasser notfall kanister', k: 10 });
    expect(found.output.posts).toHaveLength(1);
    await call('market.post', { client_id: 'plain', category: 'info', title: 'Ohne Ort' });
    expect((await call('market.list', {})).output.posts).toMatchObject([{ title: 'Ohne Ort', location: null }, {}]);
    const expired = await call('market.expire', { client_id: '01HXR0000000000000000000AB', event_id: posted.output.event_id, reason: 'fulfilled' });
    expect(expired.output).toEqual({ event_id: expect.any(String), lamport: expect.any(Number) });
  });
});

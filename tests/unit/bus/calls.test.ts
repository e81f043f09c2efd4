import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/index.js';
import { entryKey, MAX_CALL_ATTEMPTS, versionSatisfies, type CapabilityEntry, type MembershipView } from '../../../src/lib/bus/index.js';
import type { CallContext, StreamEvent } from '../../../src/lib/transport/index.js';
import { failure, makeBus, offer, PEER_A, PEER_B, PEER_C, SELF, servedBy, type TestBus } from './harness.js';

const WORK = 'experimental.work';

function local(t: TestBus, name = WORK, version = '1.0'): CapabilityEntry {
  return t.bus.registry.get(entryKey(SELF, name, version))!;
}

/** An inbound peer call through the transport port; `signal` lets a test play the caller going away. */
function inbound(t: TestBus, caller: string, capability: string, version: string, body: unknown, signal = new AbortController().signal): Promise<unknown> {
  return Promise.resolve().then(() => t.bus.handle({ capability, version, body }, { caller, requestId: `req-${caller}-${t.time.now()}`, signal }));
}


describe('in-flight accounting (M03 §5.3 f, k)', () => {
  it('in_flight decrements on handler exception: thrown, rejected, timed out, or failing mid-stream', async () => {
    const t = makeBus();
    t.bus.register({
      name: 'experimental.throws',
      version: '1.0',
      maxConcurrent: 1,
      handler: () => {
        throw new TypeError('boom');
      }
    });
    t.bus.register({ name: 'experimental.rejects', version: '1.0', maxConcurrent: 1, handler: async () => Promise.reject(new HearthError('not_implemented', 'later')) });
    t.bus.register({ name: 'experimental.hangs', version: '1.0', maxConcurrent: 1, handler: () => new Promise(() => {}) });
    t.bus.register({
      name: 'experimental.breaks',
      version: '1.0',
      maxConcurrent: 1,
      handler: async function* () {
        yield { event: 'token', data: 1 };
        throw new Error('stream broke');
      }
    });
    for (let round = 0; round < 3; round++) {
      // With max_concurrent 1, a leaked slot would turn the next round into capacity_exceeded.
      expect((await failure(t.time, t.bus.call('experimental.throws', '1.0', {}))).code).toBe('internal_error');
      expect((await failure(t.time, t.bus.call('experimental.rejects', '1.0', {}))).code).toBe('not_implemented');
      expect((await failure(t.time, t.bus.call('experimental.hangs', '1.0', {}, { timeoutMs: 100 }))).code).toBe('timeout');
      const { events, error } = await t.time.collect(t.bus.stream('experimental.breaks', '1.0', {}));
      expect(events).toEqual([{ event: 'token', data: 1 }]);
      expect((error as Error).message).toBe('stream broke');
      for (const name of ['experimental.throws', 'experimental.rejects', 'experimental.hangs', 'experimental.breaks']) expect(local(t, name).inFlight, name).toBe(0);
    }
    expect(t.bus.inFlightTotal).toBe(0);
  });

  it('in_flight decrements on handler exception for calls served to a peer', async () => {
    const t = makeBus();
    t.bus.register({
      name: WORK,
      version: '1.0',
      maxConcurrent: 1,
      handler: async () => {
        await t.time.sleep(5);
        throw new Error('disk full');
      }
    });
    for (let i = 0; i < 3; i++) {
      const error = await t.time.resolve(inbound(t, PEER_A, WORK, '1.0', {})).catch((err: unknown) => err);
      expect((error as Error).message).toBe('disk full');
      expect(local(t).inFlight).toBe(0);
    }
  });

  it('in_flight decrements when a remote call or stream fails', async () => {
    const t = makeBus();
    t.bus.peerManifest(PEER_A, [offer(WORK, { max_concurrent: 1 })]);
    t.remote.failsWith(PEER_A, 'internal_error');
    t.remote.onStream(PEER_A, async function* () {
      yield { event: 'token', data: 1 };
      throw new HearthError('partition', 'link lost');
    });
    const entry = t.bus.registry.get(entryKey(PEER_A, WORK, '1.0'))!;
    for (let i = 0; i < 3; i++) {
      expect((await failure(t.time, t.bus.call(WORK, '1.0', {}))).code).toBe('internal_error');
      expect(entry.inFlight).toBe(0);
      const { error } = await t.time.collect(t.bus.stream(WORK, '1.0', {}));
      expect(error).toMatchObject({ code: 'partition' });
      expect(entry.inFlight).toBe(0);
    }
  });

  it('refuses with capacity_exceeded and a retry hint when a local capability is at max_concurrent', async () => {
    const t = makeBus();
    t.bus.register({
      name: WORK,
      version: '1.0',
      maxConcurrent: 2,
      handler: async () => {
        await t.time.sleep(100);
        return { served_by: SELF };
      }
    });
    const running = [inbound(t, PEER_A, WORK, '1.0', {}), inbound(t, PEER_B, WORK, '1.0', {})];
    await t.time.advance(0);
    expect(local(t).inFlight).toBe(2);
    const error = await t.time.resolve(inbound(t, PEER_C, WORK, '1.0', {})).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'capacity_exceeded', retryAfterMs: 1000 });
    expect(await t.time.resolve(Promise.all(running))).toEqual([{ served_by: SELF }, { served_by: SELF }]);
    expect(await t.time.resolve(inbound(t, PEER_C, WORK, '1.0', {}))).toEqual({ served_by: SELF });
  });
});

describe('version compatibility (contract §2.1)', () => {
  it('a request for A.B is served by X.Y iff X == A and Y >= B', () => {
    const table: [string, string, boolean][] = [
      ['1.0', '1.0', true],
      ['1.3', '1.0', true],
      ['1.3', '1.3', true],
      ['1.0', '1.3', false],
      ['2.0', '1.0', false],
      ['1.9', '2.0', false],
      ['1.10', '1.9', true], // numeric, not lexicographic
      ['1.9', '1.10', false],
      ['0.1', '0.0', true],
      ['1', '1.0', false],
      ['1.0', 'x', false],
      ['1.0.0', '1.0', false]
    ];
    for (const [offered, requested, ok] of table) expect(versionSatisfies(offered, requested), `${offered} for ${requested}`).toBe(ok);
  });

  it('routes to a provider whose version satisfies the request, and refuses others with schema_mismatch naming what exists', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 10).answersAfter(PEER_B, 10);
    t.bus.peerManifest(PEER_A, [offer(WORK, { version: '1.0' })]);
    t.bus.peerManifest(PEER_B, [offer(WORK, { version: '1.3' })]);
    expect(await servedBy(t, WORK)).toBe(PEER_A);
    const viaB = (await t.time.resolve(t.bus.call(WORK, '1.2', {}))) as { served_by: string };
    expect(viaB.served_by).toBe(PEER_B);
    // The version asked for is what goes on the wire; the provider picks its best minor.
    expect(t.remote.calls.at(-1)).toMatchObject({ peer: PEER_B, capability: WORK, version: '1.2' });
    for (const wanted of ['1.4', '2.0', '0.9']) {
      const error = await failure(t.time, t.bus.call(WORK, wanted, {}));
      expect(error.code, wanted).toBe('schema_mismatch');
      expect(error.extra.alt_capabilities).toEqual([`${WORK}@1.0`, `${WORK}@1.3`]);
    }
    expect((await failure(t.time, t.bus.call('experimental.nobody', '1.0', {}))).code).toBe('not_found');
  });

  it('refuses a malformed version or name with bad_request before routing', async () => {
    const t = makeBus();
    t.bus.register({ name: WORK, version: '1.0', handler: () => ({}) });
    for (const version of ['1', 'latest', '1.0.0', '']) expect((await failure(t.time, t.bus.call(WORK, version, {}))).code, version).toBe('bad_request');
    expect((await failure(t.time, t.bus.call('', '1.0', {}))).code).toBe('bad_request');
  });

  it('serves an inbound request with the highest compatible local minor', async () => {
    const t = makeBus();
    t.bus.register({ name: WORK, version: '1.0', handler: () => ({ v: '1.0' }) });
    t.bus.register({ name: WORK, version: '1.3', handler: () => ({ v: '1.3' }) });
    t.bus.register({ name: WORK, version: '2.1', handler: () => ({ v: '2.1' }) });
    expect(await t.time.resolve(inbound(t, PEER_A, WORK, '1.0', {}))).toEqual({ v: '1.3' });
    expect(await t.time.resolve(inbound(t, PEER_A, WORK, '1.2', {}))).toEqual({ v: '1.3' });
    expect(await t.time.resolve(inbound(t, PEER_A, WORK, '2.0', {}))).toEqual({ v: '2.1' });
    const error = (await t.time.resolve(inbound(t, PEER_A, WORK, '1.4', {})).catch((err: unknown) => err)) as HearthError;
    expect(error.code).toBe('schema_mismatch');
    expect(error.extra.alt_capabilities).toEqual([`${WORK}@1.0`, `${WORK}@1.3`, `${WORK}@2.1`]);
    expect(await t.time.resolve(inbound(t, PEER_A, 'experimental.other', '1.0', {})).catch((err: unknown) => (err as HearthError).code)).toBe('not_found');
  });
});

describe('schemas on calls (M03 §5.3 d, i)', () => {
  const requestSchema = { type: 'object', required: ['input'], properties: { input: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } } } };

  it('a request outside the schema is schema_mismatch with the expected hash, and the handler never runs', async () => {
    const t = makeBus();
    let ran = 0;
    t.bus.register({ name: WORK, version: '1.0', requestSchema, handler: () => ({ ran: ++ran }) });
    for (const body of [{}, { input: { text: 5 } }, null, 'text']) {
      const error = await failure(t.time, t.bus.call(WORK, '1.0', body));
      expect(error.code).toBe('schema_mismatch');
      expect(error.extra.schema_hash_expected).toBe(local(t).schemaHash);
    }
    expect((await failure(t.time, t.bus.call(WORK, '1.0', { input: {} }))).message).toMatch(/\/input must have required property 'text'/);
    expect(ran).toBe(0);
    expect(await t.time.resolve(t.bus.call(WORK, '1.0', { input: { text: 'hi' } }))).toEqual({ ran: 1 });
  });

  it('a handler breaking its own response or stream-frame schema is internal_error, not the caller\'s fault', async () => {
    const t = makeBus();
    t.bus.register({ name: WORK, version: '1.0', responseSchema: { type: 'object', required: ['answer'] }, handler: () => ({ wrong: true }) });
    t.bus.register({
      name: 'experimental.tokens',
      version: '1.0',
      streamSchema: { type: 'object', required: ['event', 'data'], properties: { event: { const: 'token' } } },
      handler: async function* () {
        yield { event: 'token', data: 'a' };
        yield { event: 'weird', data: 'b' };
      }
    });
    expect((await failure(t.time, t.bus.call(WORK, '1.0', {}))).code).toBe('internal_error');
    const { events, error } = await t.time.collect(t.bus.stream('experimental.tokens', '1.0', {}));
    expect(events).toEqual([{ event: 'token', data: 'a' }]);
    expect(error).toMatchObject({ code: 'internal_error' });
    expect(t.bus.recentTraces(2).map((tr) => tr.result)).toEqual(['internal_error', 'internal_error']);
  });

  it('a call pinned to a schema hash only reaches providers speaking exactly that schema', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 10).answersAfter(PEER_B, 10);
    t.bus.peerManifest(PEER_A, [offer(WORK, { schema_hash: 'blake3:' + 'a'.repeat(64) })]);
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    expect(await servedBy(t, WORK, {}, { schemaHash: offer(WORK).schema_hash })).toBe(PEER_B);
    const error = await failure(t.time, t.bus.call(WORK, '1.0', {}, { schemaHash: 'blake3:' + 'c'.repeat(64) }));
    expect(error.code).toBe('schema_mismatch');
  });
});

describe('trust (M03 §5.3 c)', () => {
  it('refuses a peer below trust_required with unauthorized; serves this node itself', async () => {
    const t = makeBus();
    let ran = 0;
    t.bus.register({ name: 'community.revoke', version: '1.0', trustRequired: 'trusted', handler: () => ({ ran: ++ran }) });
    t.bus.register({ name: 'experimental.private', version: '1.0', trustRequired: 'self', handler: () => ({ ran: ++ran }) });
    t.bus.register({ name: WORK, version: '1.0', handler: () => ({ ran: ++ran }) });
    const refused = (await t.time.resolve(inbound(t, PEER_A, 'community.revoke', '1.0', {})).catch((err: unknown) => err)) as HearthError;
    expect(refused.code).toBe('unauthorized');
    expect(refused.message).toMatch(/"trusted".*"member"/);
    expect(await t.time.resolve(inbound(t, PEER_A, 'experimental.private', '1.0', {})).catch((err: unknown) => (err as HearthError).code)).toBe('unauthorized');
    // A node that was never admitted (no verified manifest) is not even a member.
    expect(await t.time.resolve(inbound(t, 'stranger', WORK, '1.0', {})).catch((err: unknown) => (err as HearthError).code)).toBe('unauthorized');
    expect(ran).toBe(0);
    expect(await t.time.resolve(inbound(t, PEER_A, WORK, '1.0', {}))).toEqual({ ran: 1 });
    expect(await t.time.resolve(t.bus.call('community.revoke', '1.0', {}))).toEqual({ ran: 2 });
    expect(await t.time.resolve(t.bus.call('experimental.private', '1.0', {}))).toEqual({ ran: 3 });
    expect(t.bus.recentTraces(5).map((tr) => `${tr.direction} ${tr.from_node} ${tr.result}`)).toEqual([
      `out ${SELF} ok`,
      `out ${SELF} ok`,
      `in ${PEER_A} ok`,
      'in stranger unauthorized',
      `in ${PEER_A} unauthorized`
    ]);
  });

  it('follows the membership view: a trusted peer is served, a revoked one refused with revoked', async () => {
    const levels: Record<string, ReturnType<MembershipView['levelOf']>> = { [SELF]: 'self', [PEER_A]: 'trusted', [PEER_B]: 'revoked', [PEER_C]: 'anchor' };
    const t = makeBus({ membership: { levelOf: (id) => levels[id] ?? 'none' } });
    t.bus.register({ name: 'community.revoke', version: '1.0', trustRequired: 'trusted', handler: () => ({ ok: true }) });
    t.bus.register({ name: 'community.invite', version: '1.0', trustRequired: 'anchor', handler: () => ({ ok: true }) });
    expect(await t.time.resolve(inbound(t, PEER_A, 'community.revoke', '1.0', {}))).toEqual({ ok: true });
    expect(await t.time.resolve(inbound(t, PEER_A, 'community.invite', '1.0', {})).catch((err: unknown) => (err as HearthError).code)).toBe('unauthorized');
    expect(await t.time.resolve(inbound(t, PEER_C, 'community.invite', '1.0', {}))).toEqual({ ok: true });
    expect(await t.time.resolve(inbound(t, PEER_B, 'community.revoke', '1.0', {})).catch((err: unknown) => (err as HearthError).code)).toBe('revoked');
  });
});

describe('failover (contract §9)', () => {
  it('an idempotent call fails over after internal_error, timeout or partition; a non-idempotent one does not', async () => {
    for (const code of ['internal_error', 'timeout', 'partition'] as const) {
      const t = makeBus();
      t.remote.failsWith(PEER_A, code).answersAfter(PEER_B, 10);
      t.bus.peerManifest(PEER_A, [offer(WORK, { idempotent: true }), offer('experimental.charge', { idempotent: false })]);
      t.bus.peerManifest(PEER_B, [offer(WORK, { idempotent: true }), offer('experimental.charge', { idempotent: false })]);
      expect(await servedBy(t, WORK), code).toBe(PEER_B);
      expect(t.remote.served()).toEqual([PEER_A, PEER_B]);
      expect((await failure(t.time, t.bus.call('experimental.charge', '1.0', {}))).code).toBe(code);
      expect(t.remote.served()).toEqual([PEER_A, PEER_B, PEER_A]);
    }
  });

  it('capacity_exceeded and rate_limited fail over for any capability: the handler never ran', async () => {
    for (const code of ['capacity_exceeded', 'rate_limited'] as const) {
      const t = makeBus();
      t.remote.failsWith(PEER_A, code).answersAfter(PEER_B, 10);
      t.bus.peerManifest(PEER_A, [offer('experimental.charge')]);
      t.bus.peerManifest(PEER_B, [offer('experimental.charge')]);
      expect(await servedBy(t, 'experimental.charge'), code).toBe(PEER_B);
    }
  });

  it('refusals that another provider would repeat (schema_mismatch, bad_request) do not fail over', async () => {
    for (const code of ['schema_mismatch', 'bad_request'] as const) {
      const t = makeBus();
      t.remote.failsWith(PEER_A, code).answersAfter(PEER_B, 10);
      t.bus.peerManifest(PEER_A, [offer(WORK, { idempotent: true })]);
      t.bus.peerManifest(PEER_B, [offer(WORK, { idempotent: true })]);
      expect((await failure(t.time, t.bus.call(WORK, '1.0', {}))).code).toBe(code);
      expect(t.remote.served()).toEqual([PEER_A]);
    }
  });

  it('unauthorized, revoked and a remote not_found move a call on (the handler never ran there), even when not idempotent', async () => {
    for (const code of ['unauthorized', 'revoked', 'not_found'] as const) {
      const t = makeBus();
      t.remote.failsWith(PEER_A, code).answersAfter(PEER_B, 10);
      t.bus.peerManifest(PEER_A, [offer(WORK)]);
      t.bus.peerManifest(PEER_B, [offer(WORK)]);
      expect(await t.time.resolve(t.bus.call(WORK, '1.0', {})), code).toEqual({ served_by: PEER_B });
      expect(t.remote.served()).toEqual([PEER_A, PEER_B]);
    }
  });

  it('a peer that answers every call with a quick not_found is marked down, not preferred for its speed', async () => {
    const t = makeBus();
    t.remote.failsWith(PEER_A, 'not_found', 1).answersAfter(PEER_B, 600);
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    for (let i = 0; i < 10; i++) expect(await t.time.resolve(t.bus.call(WORK, '1.0', {}))).toEqual({ served_by: PEER_B });
    // Tried once (a failure on its record), then ranked below the slower honest peer.
    expect(t.remote.served().filter((p) => p === PEER_A)).toHaveLength(1);
    expect(t.bus.health.stats(entryKey(PEER_A, WORK, '1.0'))).toMatchObject({ samples: 1, successRate: 0 });
  });

  it('a self-only capability is not advertised, and a peer\'s self-only entry is never chosen', async () => {
    const t = makeBus();
    t.bus.register({ name: 'experimental.mine', version: '1.0', trustRequired: 'self', handler: () => ({ mine: true }) });
    expect(t.bus.manifestEntries().map((e) => e.name)).not.toContain('experimental.mine');
    t.remote.answersAfter(PEER_A, 1).answersAfter(PEER_B, 50);
    t.bus.peerManifest(PEER_A, [offer(WORK, { trust_required: 'self' } as never)]);
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    for (let i = 0; i < 3; i++) expect(await t.time.resolve(t.bus.call(WORK, '1.0', {}))).toEqual({ served_by: PEER_B });
  });

  it('a handler that throws capacity_exceeded or rate_limited itself reports internal_error: it ran, so no failover', async () => {
    const t = makeBus();
    let runs = 0;
    t.bus.register({
      name: WORK,
      version: '1.0',
      handler: () => {
        runs++;
        throw new HearthError('capacity_exceeded', 'a nested call was refused');
      }
    });
    t.remote.answersAfter(PEER_A, 10);
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    const error = await failure(t.time, t.bus.call(WORK, '1.0', {}));
    expect(error).toMatchObject({ code: 'internal_error', message: expect.stringMatching(/failed on a call it made: capacity_exceeded/) });
    expect(runs).toBe(1);
    expect(t.remote.served()).toEqual([]);
  });

  it(`gives up after ${MAX_CALL_ATTEMPTS} attempts with the last provider's error`, async () => {
    const t = makeBus();
    const peers = [PEER_A, PEER_B, PEER_C, 'peer-d'];
    for (const peer of peers) {
      t.remote.failsWith(peer, 'internal_error');
      t.bus.peerManifest(peer, [offer(WORK, { idempotent: true })]);
    }
    const error = await failure(t.time, t.bus.call(WORK, '1.0', {}));
    expect(error).toMatchObject({ code: 'internal_error', message: `${PEER_C} says internal_error` });
    expect(t.remote.served()).toEqual([PEER_A, PEER_B, PEER_C]);
    // Each attempt is its own request, and its own trace.
    expect(new Set(t.remote.calls.map((c) => c.requestId)).size).toBe(3);
    expect(t.bus.recentTraces(3).map((tr) => tr.to_node)).toEqual([PEER_C, PEER_B, PEER_A]);
  });

  it('a stream fails over only before its first event', async () => {
    const t = makeBus();
    t.bus.peerManifest(PEER_A, [offer(WORK, { idempotent: true })]);
    t.bus.peerManifest(PEER_B, [offer(WORK, { idempotent: true })]);
    t.remote.onStream(PEER_A, async function* () {
      throw new HearthError('internal_error', 'model crashed');
    });
    t.remote.onStream(PEER_B, async function* () {
      yield { event: 'token', data: 'b' };
      yield { event: 'done', data: { from: PEER_B } };
    });
    expect((await t.time.collect(t.bus.stream(WORK, '1.0', {}))).events).toEqual([
      { event: 'token', data: 'b' },
      { event: 'done', data: { from: PEER_B } }
    ]);
    t.remote.onStream(PEER_A, async function* () {
      yield { event: 'token', data: 'a' };
      throw new HearthError('internal_error', 'model crashed');
    });
    const before = t.remote.streams.length;
    const { events, error } = await t.time.collect(t.bus.stream(WORK, '1.0', {}, { node: PEER_A }));
    expect(events).toEqual([{ event: 'token', data: 'a' }]);
    expect(error).toMatchObject({ code: 'internal_error' });
    expect(t.remote.streams.length - before).toBe(1);
  });
});

describe('local calls and streams (M03 §5.8)', () => {
  it('a local capability runs in-process: the handler sees this node as caller and the trace is local', async () => {
    const t = makeBus();
    t.bus.register({ name: WORK, version: '1.0', handler: (body, ctx: CallContext) => ({ body, caller: ctx.caller }) });
    expect(await t.time.resolve(t.bus.call(WORK, '1.0', { x: 1 }))).toEqual({ body: { x: 1 }, caller: SELF });
    expect(t.remote.calls).toEqual([]);
    expect(t.bus.recentTraces(1)[0]).toMatchObject({ is_local: true, path: 'local', from_node: SELF, to_node: SELF, direction: 'out', result: 'ok' });
  });

  it('bus.stream yields a local handler\'s events then done with its return value; call gets the done data', async () => {
    const t = makeBus();
    t.bus.register({
      name: WORK,
      version: '1.0',
      handler: async function* () {
        for (let i = 1; i <= 3; i++) yield { event: 'token', data: i };
        return { total: 3 };
      }
    });
    expect((await t.time.collect(t.bus.stream(WORK, '1.0', {}))).events).toEqual([
      { event: 'token', data: 1 },
      { event: 'token', data: 2 },
      { event: 'token', data: 3 },
      { event: 'done', data: { total: 3 } }
    ]);
    expect(await t.time.resolve(t.bus.call(WORK, '1.0', {}))).toEqual({ total: 3 });
    t.bus.register({ name: 'experimental.plain', version: '1.0', handler: () => ({ plain: true }) });
    expect((await t.time.collect(t.bus.stream('experimental.plain', '1.0', {}))).events).toEqual([{ event: 'done', data: { plain: true } }]);
  });

  it('breaking out of a local stream stops the handler and frees its slot', async () => {
    const t = makeBus();
    let stoppedAt: number | null = null;
    t.bus.register({
      name: WORK,
      version: '1.0',
      maxConcurrent: 1,
      handler: async function* (_body: unknown, ctx: CallContext) {
        try {
          for (let i = 1; ; i++) {
            yield { event: 'token', data: i };
            await t.time.sleep(10, ctx.signal);
          }
        } finally {
          stoppedAt = t.time.now();
        }
      }
    });
    const { events } = await t.time.collect(t.bus.stream(WORK, '1.0', {}), 3);
    const brokeAt = t.time.now();
    await t.time.advance(200);
    expect(events).toHaveLength(3);
    expect(stoppedAt).not.toBeNull();
    expect(stoppedAt! - brokeAt).toBeLessThanOrEqual(200);
    expect(local(t).inFlight).toBe(0);
    expect(t.bus.recentTraces(1)[0]).toMatchObject({ result: 'cancelled', stream: true });
  });

  it('aborting the signal cancels a local handler and rejects with the signal\'s reason', async () => {
    const t = makeBus();
    let handlerSignal: AbortSignal | null = null;
    t.bus.register({
      name: WORK,
      version: '1.0',
      handler: async (_body, ctx) => {
        handlerSignal = ctx.signal;
        await t.time.sleep(10_000, ctx.signal);
        return {};
      }
    });
    const controller = new AbortController();
    t.time.setTimeout(() => controller.abort(new Error('user closed the tab')), 50);
    const error = await t.time.resolve(t.bus.call(WORK, '1.0', {}, { signal: controller.signal })).catch((err: unknown) => err);
    expect((error as Error).message).toBe('user closed the tab');
    expect(handlerSignal!.aborted).toBe(true);
    expect(local(t).inFlight).toBe(0);
    expect(t.bus.recentTraces(1)[0].result).toBe('cancelled');
  });

  it('a stream\'s deadline is the silence between events: a long stream that keeps talking lives, a silent one times out', async () => {
    const t = makeBus();
    const talker = async function* (_body: unknown, ctx: CallContext) {
      // 5 events 8 s apart: 40 s in all, well past the 10 s deadline, never 10 s of silence.
      for (let i = 1; i <= 5; i++) {
        await t.time.sleep(8_000, ctx.signal);
        yield { event: 'token', data: i };
      }
      return { total: 5 };
    };
    t.bus.register({ name: WORK, version: '1.0', timeoutSeconds: 10, handler: talker });
    const long = await t.time.collect(t.bus.stream(WORK, '1.0', {}));
    expect(long.error).toBeNull();
    expect(long.events.at(-1)).toEqual({ event: 'done', data: { total: 5 } });

    let stopped: AbortSignal | null = null;
    t.bus.register({
      name: 'experimental.silent',
      version: '1.0',
      timeoutSeconds: 10,
      handler: async function* (_body: unknown, ctx: CallContext) {
        stopped = ctx.signal;
        yield { event: 'token', data: 1 };
        await t.time.sleep(30_000, ctx.signal);
        yield { event: 'token', data: 2 };
      }
    });
    const silent = await t.time.collect(t.bus.stream('experimental.silent', '1.0', {}));
    expect(silent.events).toEqual([{ event: 'token', data: 1 }]);
    expect(silent.error).toMatchObject({ code: 'timeout', message: expect.stringMatching(/went silent for 10000 ms/) });
    expect(stopped!.aborted).toBe(true);
    expect(local(t, 'experimental.silent').inFlight).toBe(0);
  });

  it('a remote stream passes its deadline to the transport as the idle timeout', async () => {
    const t = makeBus();
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    t.remote.onStream(PEER_A, async function* () {
      yield { event: 'done', data: {} };
    });
    await t.time.collect(t.bus.stream(WORK, '1.0', {}, { timeoutMs: 1234 }));
    expect((t.remote.streams[0] as { idleTimeoutMs?: number }).idleTimeoutMs).toBe(1234);
  });

  it('a consumer slower than the deadline is not the provider going silent', async () => {
    const t = makeBus();
    t.bus.register({
      name: WORK,
      version: '1.0',
      timeoutSeconds: 1,
      handler: async function* () {
        for (let i = 1; i <= 3; i++) yield { event: 'token', data: i };
      }
    });
    const events: StreamEvent[] = [];
    const run = (async () => {
      for await (const event of t.bus.stream(WORK, '1.0', {})) {
        events.push(event);
        await t.time.sleep(5_000); // the person reading is slow
      }
    })();
    await t.time.resolve(run, 60_000);
    expect(events.map((e) => e.event)).toEqual(['token', 'token', 'token', 'done']);
    expect(t.bus.health.stats(entryKey(SELF, WORK, '1.0'))).toMatchObject({ samples: 1, successRate: 1 });
  });

  it('a handler that yields a terminal event itself fails the stream with internal_error and is stopped', async () => {
    const t = makeBus();
    let signal: AbortSignal | null = null;
    t.bus.register({
      name: WORK,
      version: '1.0',
      handler: async function* (_body: unknown, ctx: CallContext) {
        signal = ctx.signal;
        yield { event: 'token', data: 1 };
        yield { event: 'done', data: {} };
        yield { event: 'token', data: 2 };
      }
    });
    const { events, error } = await t.time.collect(t.bus.stream(WORK, '1.0', {}));
    expect(events).toEqual([{ event: 'token', data: 1 }]);
    expect(error).toMatchObject({ code: 'internal_error', message: expect.stringMatching(/invalid stream event "done"/) });
    expect(signal!.aborted).toBe(true);
    expect(local(t).inFlight).toBe(0);
  });

  it('a served stream the transport drops unstarted (the caller left first) still frees its slot and leaves one trace', async () => {
    const t = makeBus();
    t.bus.register({ name: WORK, version: '1.0', handler: async function* () { yield { event: 'token', data: 1 }; } });
    const gone = new AbortController();
    const stream = await t.time.resolve(inbound(t, PEER_A, WORK, '1.0', {}, gone.signal));
    expect(local(t).inFlight).toBe(1);
    void stream; // never iterated, as when rpc-server sees the abort first
    gone.abort(new Error('caller left'));
    expect(local(t).inFlight).toBe(0);
    expect(t.bus.recentTraces(5).filter((tr) => tr.direction === 'in').map((tr) => tr.result)).toEqual(['cancelled']);
  });

  it('aborting the signal rejects with the signal\'s own reason', async () => {
    const t = makeBus();
    t.bus.register({ name: WORK, version: '1.0', handler: (_b: unknown, ctx: CallContext) => t.time.sleep(10_000, ctx.signal) });
    const controller = new AbortController();
    const reason = new Error('the person pressed stop');
    const pending = t.bus.call(WORK, '1.0', {}, { signal: controller.signal });
    t.time.setTimeout(() => controller.abort(reason), 100);
    await expect(t.time.resolve(pending)).rejects.toBe(reason);
  });

  it('capability names a peer makes up share one metrics label', async () => {
    const t = makeBus();
    for (let i = 0; i < 50; i++) await t.time.resolve(inbound(t, PEER_A, `experimental.made_up_${i}`, '1.0', {})).catch(() => {});
    expect(Object.keys(t.bus.metrics.snapshot())).toEqual(['(unknown)']);
  });

  it('a call addressed to one node that lacks the capability is not_found, naming that node', async () => {
    const t = makeBus();
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    t.bus.peerManifest(PEER_B, [offer('experimental.other')]);
    const error = await failure(t.time, t.bus.call(WORK, '1.0', {}, { node: PEER_B }));
    expect(error).toMatchObject({ code: 'not_found', message: `no node offers ${WORK}@1.0 on ${PEER_B}` });
  });
});

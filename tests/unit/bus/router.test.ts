import { describe, expect, it, vi } from 'vitest';
import { HEALTH_QUARANTINE_SECONDS } from '../../../src/lib/core/index.js';
import { entryKey, STICKY_IDLE_MS, type CapabilityEntry } from '../../../src/lib/bus/index.js';
import { deferred, failure, makeBus, offer, PEER_A, PEER_B, PEER_C, SELF, servedBy, type TestBus } from './harness.js';

const WORK = 'experimental.work';

function entry(t: TestBus, node: string, name = WORK, version = '1.0'): CapabilityEntry {
  const found = t.bus.registry.get(entryKey(node, name, version));
  if (!found) throw new Error(`no entry ${node} ${name}@${version}`);
  return found;
}

/** Runs `count` calls pinned to `node`, so its health history is what the test wants. */
async function warm(t: TestBus, node: string, count = 1, name = WORK): Promise<void> {
  for (let i = 0; i < count; i++) await t.time.resolve(t.bus.call(name, '1.0', {}, { node }).catch(() => null));
}

/** A local handler that holds every call until `release()`. */
function heldLocal(t: TestBus, maxConcurrent: number) {
  const gate = deferred<void>();
  t.bus.register({
    name: WORK,
    version: '1.0',
    maxConcurrent,
    handler: async () => {
      await gate.promise;
      return { served_by: SELF };
    }
  });
  const pending: Promise<unknown>[] = [];
  return {
    /** Starts `n` calls; pinned ones run here whatever the router would say. */
    hold(n: number, pinned = true) {
      for (let i = 0; i < n; i++) pending.push(t.bus.call(WORK, '1.0', {}, pinned ? { node: SELF } : {}));
    },
    async release() {
      gate.resolve();
      return t.time.resolve(Promise.all(pending));
    }
  };
}

describe('router: locality (M03 §5.4)', () => {
  it('router prefers local when underloaded, even over a faster peer', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 1);
    t.bus.peerManifest(PEER_A, [offer(WORK, { max_concurrent: 100 })]);
    await warm(t, PEER_A);
    const local = heldLocal(t, 10);
    // Routed one by one: each lands here while fewer than 0.8 × 10 are running.
    for (let i = 1; i <= 8; i++) {
      local.hold(1, false);
      expect(entry(t, SELF).inFlight).toBe(i);
    }
    expect(t.remote.calls).toHaveLength(1); // only the warm-up went out
    expect(await local.release()).toEqual(Array(8).fill({ served_by: SELF }));
  });

  it('router prefers remote when local overloaded (in-flight / max_concurrent ≥ 0.8)', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 1);
    t.bus.peerManifest(PEER_A, [offer(WORK, { max_concurrent: 100 })]);
    const local = heldLocal(t, 10);
    local.hold(8);
    expect(await servedBy(t, WORK)).toBe(PEER_A);
    local.hold(1); // a call pinned to this node still runs here while there is room
    expect(entry(t, SELF).inFlight).toBe(9);
    expect(await servedBy(t, WORK)).toBe(PEER_A);
    await local.release();
    expect(entry(t, SELF).inFlight).toBe(0);
    expect(await servedBy(t, WORK)).toBe(SELF);
  });

  it('router scores local like anyone else when prefer_local is off, or at a custom threshold', async () => {
    const off = makeBus({ preferLocal: false });
    off.remote.answersAfter(PEER_A, 1);
    off.bus.peerManifest(PEER_A, [offer(WORK)]);
    off.bus.register({ name: WORK, version: '1.0', handler: () => ({ served_by: SELF }) });
    // Unknown local latency counts as 500 ms minus the 50 ms locality bonus; a peer known to answer in 1 ms wins.
    await warm(off, PEER_A);
    expect(await servedBy(off, WORK)).toBe(PEER_A);

    const strict = makeBus({ localLoadThreshold: 0.5 });
    strict.remote.answersAfter(PEER_A, 1);
    strict.bus.peerManifest(PEER_A, [offer(WORK)]);
    const local = heldLocal(strict, 10);
    local.hold(4);
    expect(strict.bus.router.route({ name: WORK, versionReq: '1.0', params: {} }).nodeId).toBe(SELF);
    local.hold(1); // half busy: at the threshold
    expect(await servedBy(strict, WORK)).toBe(PEER_A);
    await local.release();
  });
});

describe('router: health and score (M03 §5.4, §5.7)', () => {
  it('router skips quarantined providers even when their score would win', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_B, 2_000); // slow but healthy
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    await warm(t, PEER_B);
    t.remote.failsWith(PEER_A, 'internal_error', 10);
    await warm(t, PEER_A, 5);
    const quarantined = t.bus.health.stats(entry(t, PEER_A).key);
    expect(quarantined.quarantinedUntil).toBe(t.time.now() + HEALTH_QUARANTINE_SECONDS * 1000);
    // By score alone A (10 ms, all failing: 10 + 1000) would still beat B (2000 ms).
    expect(t.bus.router.score(entry(t, PEER_A))).toBeLessThan(t.bus.router.score(entry(t, PEER_B)));
    const before = t.remote.calls.length;
    expect(await servedBy(t, WORK)).toBe(PEER_B);
    expect(t.remote.served().slice(before)).toEqual([PEER_B]);
  });

  it('router refuses a call pinned to a quarantined provider with partition and the time left', async () => {
    const t = makeBus();
    t.remote.failsWith(PEER_A, 'timeout', 10);
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    await warm(t, PEER_A, 5);
    await t.time.advance(20_000);
    const error = await failure(t.time, t.bus.call(WORK, '1.0', {}));
    expect(error.code).toBe('partition');
    expect(error.message).toMatch(/quarantined/);
    expect(error.retryAfterMs).toBe(HEALTH_QUARANTINE_SECONDS * 1000 - 20_000);
    expect(t.remote.calls).toHaveLength(5);
  });

  it('router breaks ties by latency: the faster of two equally reliable providers wins', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 30).answersAfter(PEER_B, 10);
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    // Knowing nothing, the tie goes to the first node id, every time.
    expect(t.bus.router.route({ name: WORK, versionReq: '1.0', params: {} }).nodeId).toBe(PEER_A);
    await warm(t, PEER_A);
    await warm(t, PEER_B);
    expect(t.bus.router.score(entry(t, PEER_A))).toBe(30);
    expect(t.bus.router.score(entry(t, PEER_B))).toBe(10);
    for (let i = 0; i < 3; i++) expect(await servedBy(t, WORK)).toBe(PEER_B);
  });

  it('router breaks ties by reliability: at equal latency the provider that fails less wins', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 20);
    let n = 0;
    t.remote.on(PEER_B, async () => {
      await t.time.sleep(20);
      if (++n === 2) throw new Error('disk full');
      return { served_by: PEER_B };
    });
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    t.bus.peerManifest(PEER_C, [offer(WORK)]); // unreachable, never heard from: unknown latency
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    await warm(t, PEER_B, 4);
    await warm(t, PEER_A, 4);
    expect(t.bus.health.stats(entry(t, PEER_B).key)).toMatchObject({ samples: 4, successRate: 0.75, p50Ms: 20 });
    expect(t.bus.router.score(entry(t, PEER_A))).toBe(20);
    expect(t.bus.router.score(entry(t, PEER_B))).toBe(20 + 0.25 * 1000);
    expect(t.bus.router.score(entry(t, PEER_C))).toBe(500);
    expect(await servedBy(t, WORK)).toBe(PEER_A);
  });

  it('router score follows M03 §5.4: latency × (1 + load) + (1 − success) × 1000 − 50 if local; unknown latency is 500', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 40).answersAfter(PEER_B, 60);
    t.bus.peerManifest(PEER_A, [offer(WORK, { max_concurrent: 4 })]);
    t.bus.peerManifest(PEER_B, [offer(WORK, { max_concurrent: 4 })]);
    const local = heldLocal(t, 8);
    await warm(t, PEER_A);
    await warm(t, PEER_B);
    expect(t.bus.router.score(entry(t, SELF))).toBe(500 - 50);
    local.hold(2);
    expect(t.bus.router.score(entry(t, SELF))).toBe(500 * (1 + 2 / 8) - 50);
    const pending = [1, 2, 3].map(() => t.bus.call(WORK, '1.0', {}, { node: PEER_A }));
    expect(entry(t, PEER_A).inFlight).toBe(3);
    expect(t.bus.router.score(entry(t, PEER_A))).toBe(40 * (1 + 3 / 4));
    // With this node full, the slower but idle B (60) beats the faster, busier A (70).
    local.hold(6);
    expect(t.bus.router.route({ name: WORK, versionReq: '1.0', params: {} }).nodeId).toBe(PEER_B);
    await t.time.resolve(Promise.all(pending));
    expect(t.bus.router.route({ name: WORK, versionReq: '1.0', params: {} }).nodeId).toBe(PEER_A);
    await local.release();
  });

  it('router never picks a provider at its concurrency limit, and says capacity_exceeded with a retry hint when all are', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 100).answersAfter(PEER_B, 100);
    t.bus.peerManifest(PEER_A, [offer(WORK, { max_concurrent: 1 })]);
    t.bus.peerManifest(PEER_B, [offer(WORK, { max_concurrent: 1 })]);
    const first = t.bus.call(WORK, '1.0', {});
    const second = t.bus.call(WORK, '1.0', {});
    expect(t.remote.served()).toEqual([PEER_A, PEER_B]);
    const error = await failure(t.time, t.bus.call(WORK, '1.0', {}));
    expect(error.code).toBe('capacity_exceeded');
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(await t.time.resolve(Promise.all([first, second]))).toEqual([{ served_by: PEER_A }, { served_by: PEER_B }]);
    expect(await servedBy(t, WORK)).toBe(PEER_A);
  });

  it('router ignores a peer not heard from within the 60 s freshness window', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 10).answersAfter(PEER_B, 10);
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    await t.time.advance(59_000);
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    await t.time.advance(2_000);
    expect(await servedBy(t, WORK)).toBe(PEER_B);
    await t.time.advance(60_000);
    expect((await failure(t.time, t.bus.call(WORK, '1.0', {}))).code).toBe('partition');
  });
});

describe('router: params_compatible (M03 §5.5)', () => {
  it('params_compatible predicate invoked with (offered, requested) for local and remote entries', async () => {
    const t = makeBus();
    const predicate = vi.fn((offered: Record<string, unknown>, requested: Record<string, unknown>) => requested.model === undefined || offered.model === requested.model);
    t.bus.register({ name: 'experimental.model_run', version: '1.0', params: { model: 'm1' }, paramsCompatible: predicate, handler: () => ({ served_by: SELF }) });
    t.remote.answersAfter(PEER_A, 10);
    t.bus.peerManifest(PEER_A, [offer('experimental.model_run', { params: { model: 'm2' } })]);

    expect(await servedBy(t, 'experimental.model_run', { params: { model: 'm1' } })).toBe(SELF);
    expect(predicate).toHaveBeenCalledWith({ model: 'm1' }, { model: 'm1' });
    expect(await servedBy(t, 'experimental.model_run', { params: { model: 'm2' } })).toBe(PEER_A);
    expect(predicate).toHaveBeenCalledWith({ model: 'm2' }, { model: 'm2' });
    const error = await failure(t.time, t.bus.call('experimental.model_run', '1.0', { params: { model: 'm3' } }));
    expect(error.code).toBe('not_found');
    expect(error.message).toContain('"model":"m3"');
  });

  it('params_compatible: a predicate that throws means "not this provider"', async () => {
    const t = makeBus();
    t.bus.register({
      name: 'experimental.picky',
      version: '1.0',
      paramsCompatible: (_offered, requested) => {
        if (typeof requested.n !== 'number') throw new TypeError('n must be a number');
        return true;
      },
      handler: () => ({ served_by: SELF })
    });
    expect(await servedBy(t, 'experimental.picky', { params: { n: 1 } })).toBe(SELF);
    expect((await failure(t.time, t.bus.call('experimental.picky', '1.0', { params: { n: 'x' } }))).code).toBe('not_found');
  });

  it('params_compatible built-ins: llm by model or models, embed by model, rag by corpus or corpora; absent means any', async () => {
    const t = makeBus();
    for (const peer of [PEER_A, PEER_B, PEER_C]) t.remote.answersAfter(peer, 10);
    t.bus.peerManifest(PEER_A, [offer('llm.chat', { params: { model: 'llama-3b' } }), offer('rag.query', { params: { corpus: 'manuals' } })]);
    t.bus.peerManifest(PEER_B, [offer('llm.chat', { params: { models: ['qwen-7b', 'phi-3'] } }), offer('rag.query', { params: { corpora: ['recipes', 'maps'] } })]);
    t.bus.peerManifest(PEER_C, [offer('embed.text', { params: { model: 'minilm' } })]);

    expect(await servedBy(t, 'llm.chat', { params: { model: 'phi-3' } })).toBe(PEER_B);
    expect(await servedBy(t, 'llm.chat', { params: { model: 'llama-3b' } })).toBe(PEER_A);
    expect(await servedBy(t, 'rag.query', { params: { corpus: 'maps' } })).toBe(PEER_B);
    expect(await servedBy(t, 'rag.query', { params: { corpus: 'manuals' } })).toBe(PEER_A);
    expect(await servedBy(t, 'embed.text', { params: { model: 'minilm' } })).toBe(PEER_C);
    expect(['peer-a', 'peer-b']).toContain(await servedBy(t, 'llm.chat', { params: {} }));
    for (const [name, params] of [
      ['llm.chat', { model: 'gpt-9' }],
      ['rag.query', { corpus: 'secret' }],
      ['embed.text', { model: 'other' }]
    ] as const) {
      expect((await failure(t.time, t.bus.call(name, '1.0', { params }))).code, name).toBe('not_found');
    }
  });

  it('params_compatible can be defined for a capability this node only calls', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 10).answersAfter(PEER_B, 10);
    t.bus.peerManifest(PEER_A, [offer('experimental.translate', { params: { langs: ['fr', 'de'] } })]);
    t.bus.peerManifest(PEER_B, [offer('experimental.translate', { params: { langs: ['pl'] } })]);
    t.bus.defineParamsCompatible('experimental.translate', (offered, requested) => (offered.langs as string[]).includes(requested.lang as string));
    expect(await servedBy(t, 'experimental.translate', { params: { lang: 'pl' } })).toBe(PEER_B);
    expect(await servedBy(t, 'experimental.translate', { params: { lang: 'de' } })).toBe(PEER_A);
  });
});

describe('router: sticky sessions (M03 §5.6)', () => {
  it('sticky session binds to its first provider and keeps it while a better one appears', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 50).answersAfter(PEER_B, 5);
    t.bus.peerManifest(PEER_A, [offer('llm.chat')]);
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_A);
    expect(t.bus.router.boundTo('s1')).toBe(entryKey(PEER_A, 'llm.chat', '1.0'));

    t.bus.peerManifest(PEER_B, [offer('llm.chat')]);
    await warm(t, PEER_B, 1, 'llm.chat');
    expect(await servedBy(t, 'llm.chat')).toBe(PEER_B);
    for (let i = 0; i < 3; i++) expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_A);
    // Another session binds to whatever is best when it starts.
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's2' })).toBe(PEER_B);
  });

  it('sticky session unbinds on peer removal; the next call picks afresh and binds there', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 50).answersAfter(PEER_B, 50);
    t.bus.peerManifest(PEER_A, [offer('llm.chat')]);
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_A);
    t.bus.peerManifest(PEER_B, [offer('llm.chat')]);
    t.bus.peerRemoved(PEER_A);
    expect(t.bus.router.boundTo('s1')).toBeUndefined();
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_B);
    expect(t.bus.router.boundTo('s1')).toBe(entryKey(PEER_B, 'llm.chat', '1.0'));
    // A returns: the session stays where it now is.
    t.bus.peerManifest(PEER_A, [offer('llm.chat')]);
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_B);
    // A manifest that drops the capability unbinds too.
    t.bus.peerManifest(PEER_B, []);
    expect(t.bus.router.boundTo('s1')).toBeUndefined();
  });

  it('sticky session moves when its provider stops being viable (quarantined)', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 10).answersAfter(PEER_B, 10);
    t.bus.peerManifest(PEER_A, [offer('llm.chat')]);
    t.bus.peerManifest(PEER_B, [offer('llm.chat')]);
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_A);
    t.remote.failsWith(PEER_A, 'internal_error', 10);
    await warm(t, PEER_A, 5, 'llm.chat');
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_B);
    expect(t.bus.router.boundTo('s1')).toBe(entryKey(PEER_B, 'llm.chat', '1.0'));
  });

  it('sticky session expires after 10 min idle, not while in use', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 50).answersAfter(PEER_B, 5);
    const refresh = () => {
      t.bus.peerManifest(PEER_A, [offer('llm.chat')]);
      t.bus.peerManifest(PEER_B, [offer('llm.chat')]);
    };
    t.bus.peerManifest(PEER_A, [offer('llm.chat')]);
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_A);
    refresh();
    await warm(t, PEER_B, 1, 'llm.chat');
    // Used every 5 minutes for 20 minutes: stays bound to A, although B is faster.
    for (let i = 0; i < 4; i++) {
      for (let s = 0; s < 5; s++) {
        await t.time.advance(60_000);
        refresh();
        t.bus.sweep();
      }
      expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_A);
    }
    // Idle just under the TTL: still bound.
    await t.time.advance(STICKY_IDLE_MS - 1_000);
    refresh();
    t.bus.sweep();
    expect(t.bus.router.boundTo('s1')).toBe(entryKey(PEER_A, 'llm.chat', '1.0'));
    await t.time.advance(2_000);
    refresh();
    t.bus.sweep();
    expect(t.bus.router.boundTo('s1')).toBeUndefined();
    expect(t.bus.router.sessionCount).toBe(0);
    expect(await servedBy(t, 'llm.chat', {}, { sessionId: 's1' })).toBe(PEER_B);
  });
});

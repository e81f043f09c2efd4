import { describe, expect, it } from 'vitest';
import { RegistrationError, type CapabilityRegistration } from '../../../src/lib/bus/index.js';
import { failure, makeBus, offer, PEER_A, SELF } from './harness.js';

const echo = (body: unknown) => ({ served_by: SELF, body });

function registrationError(register: () => unknown): RegistrationError {
  try {
    register();
  } catch (err) {
    if (err instanceof RegistrationError) return err;
    throw new Error(`expected a RegistrationError, got ${String(err)}`);
  }
  throw new Error('expected a RegistrationError, but registering succeeded');
}

describe('bus registration (M03 §3.2, §8)', () => {
  it('register_local validates the descriptor: version, maxConcurrent, timeout, trust, stability, params, handler', () => {
    const { bus, localChanges } = makeBus();
    const base: CapabilityRegistration = { name: 'experimental.echo', version: '1.0', handler: echo };
    const bad: Partial<CapabilityRegistration>[] = [
      { version: '1' },
      { version: 'v1.0' },
      { version: '1.0.0' },
      { version: '' },
      { maxConcurrent: 0 },
      { maxConcurrent: 1.5 },
      { maxConcurrent: 5000 },
      { maxConcurrent: Number.NaN },
      { timeoutSeconds: 0 },
      { timeoutSeconds: 7200 },
      { trustRequired: 'root' as never },
      { stability: 'alpha' as never },
      { params: [] as never },
      { params: null as never },
      { params: { weight: Number.POSITIVE_INFINITY } },
      { idempotent: 'yes' as never },
      { handler: undefined as never }
    ];
    for (const change of bad) {
      const error = registrationError(() => bus.register({ ...base, ...change }));
      expect(error.code, JSON.stringify(change)).toBe('bad_descriptor');
      expect(error.message).toContain('experimental.echo');
    }
    // Nothing half-registered: no entry, no manifest change, and calls find nothing.
    expect(bus.registry.all()).toEqual([]);
    expect(bus.manifestEntries()).toEqual([]);
    expect(localChanges()).toBe(0);

    bus.register({ ...base, maxConcurrent: 1024, timeoutSeconds: 3600 });
    expect(bus.manifestEntries()).toMatchObject([{ name: 'experimental.echo', version: '1.0', max_concurrent: 1024, timeout_seconds: 3600 }]);
    expect(localChanges()).toBe(1);
  });

  it('register_local validates the descriptor: a schema that does not compile is schema_invalid', () => {
    const { bus } = makeBus();
    const schemas: Partial<CapabilityRegistration>[] = [
      { requestSchema: { type: 'nonsense' } },
      { requestSchema: { type: 'object', properties: { n: { minimum: 'five' } } } },
      { requestSchema: [] as never },
      { responseSchema: { $ref: '#/definitions/missing' } },
      { streamSchema: { type: 'object', required: 'event' } }
    ];
    for (const change of schemas) {
      const error = registrationError(() => bus.register({ name: 'experimental.echo', version: '1.0', handler: echo, ...change }));
      expect(error.code, JSON.stringify(change)).toBe('schema_invalid');
    }
    expect(bus.registry.all()).toEqual([]);
  });

  it('register_local validates the descriptor: a second registration of name@version is refused, the first stays', async () => {
    const { bus, time } = makeBus();
    bus.register({ name: 'experimental.echo', version: '1.0', handler: () => ({ first: true }) });
    const error = registrationError(() => bus.register({ name: 'experimental.echo', version: '1.0', handler: () => ({ second: true }) }));
    expect(error.code).toBe('duplicate');
    expect(await time.resolve(bus.call('experimental.echo', '1.0', {}))).toEqual({ first: true });
    // Another version of the same name is a different capability.
    bus.register({ name: 'experimental.echo', version: '2.0', handler: () => ({ v2: true }) });
    expect(await time.resolve(bus.call('experimental.echo', '2.0', {}))).toEqual({ v2: true });
  });

  it('register_local is idempotent for the same descriptor and handler; each withdraw removes only its own registration', async () => {
    const { bus, time } = makeBus();
    const handler = () => ({ same: true });
    const withdrawFirst = bus.register({ name: 'experimental.echo', version: '1.0', handler, maxConcurrent: 4 });
    const withdrawAgain = bus.register({ name: 'experimental.echo', version: '1.0', handler, maxConcurrent: 4 });
    expect(bus.registry.local()).toHaveLength(1);
    // Same handler, different descriptor: a clash, not a silent change.
    expect(registrationError(() => bus.register({ name: 'experimental.echo', version: '1.0', handler, maxConcurrent: 5 })).code).toBe('duplicate');
    withdrawAgain();
    expect(bus.registry.local()).toHaveLength(0);
    // A withdraw function from before does not remove a later registration under the same name.
    bus.register({ name: 'experimental.echo', version: '1.0', handler: () => ({ later: true }) });
    withdrawFirst();
    expect(await time.resolve(bus.call('experimental.echo', '1.0', {}))).toEqual({ later: true });
  });

  it('register_local namespace violation raises: reserved prefix, unknown prefix, malformed name', () => {
    const { bus } = makeBus();
    for (const name of ['ocr.x', 'tts.speak', 'stt.listen', 'trans.late', 'img.draw', 'foo.bar', 'echo', 'Experimental.Echo', 'experimental.', 'experimental.x-y', `experimental.${'a'.repeat(130)}`]) {
      const error = registrationError(() => bus.register({ name, version: '1.0', handler: echo }));
      expect(error.code, name).toBe('namespace_violation');
    }
    expect(registrationError(() => bus.register({ name: 'ocr.x', version: '1.0', handler: echo })).message).toMatch(/reserved/);
    expect(registrationError(() => bus.register({ name: 'foo.bar', version: '1.0', handler: echo })).message).toMatch(/experimental\./);
    expect(bus.registry.all()).toEqual([]);
  });

  it('register_local namespace violation raises when a service offers outside its own prefix', () => {
    const { bus } = makeBus();
    const error = registrationError(() => bus.register({ name: 'rag.query', version: '1.0', handler: echo, owner: 'market' }));
    expect(error.code).toBe('namespace_violation');
    expect(error.message).toContain('market');
    // Its own prefix and experimental.* are fine.
    bus.register({ name: 'market.post', version: '1.0', handler: echo, owner: 'market' });
    bus.register({ name: 'experimental.market_probe', version: '1.0', handler: echo, owner: 'market' });
    expect(bus.manifestEntries().map((e) => e.name).sort()).toEqual(['experimental.market_probe', 'market.post']);
  });

  it('a peer offering a reserved or unknown prefix is ignored, so nothing routes to it', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_A, 10);
    t.bus.peerManifest(PEER_A, [offer('ocr.read'), offer('foo.bar'), offer('experimental.ok'), offer('experimental.badver', { version: 'one' })]);
    expect(t.bus.registry.all().map((e) => e.name)).toEqual(['experimental.ok']);
    expect((await failure(t.time, t.bus.call('ocr.read', '1.0', {}))).code).toBe('not_found');
    expect(t.remote.calls).toEqual([]);
  });

  it('the manifest lists what was registered, with the optional trust, timeout and idempotent fields', () => {
    const { bus } = makeBus();
    bus.register({
      name: 'market.post',
      version: '1.2',
      stability: 'beta',
      params: { board: 'main' },
      maxConcurrent: 3,
      trustRequired: 'trusted',
      timeoutSeconds: 12,
      idempotent: true,
      handler: echo
    });
    const [entry] = bus.manifestEntries();
    expect(entry).toEqual({
      name: 'market.post',
      version: '1.2',
      stability: 'beta',
      schema_hash: expect.stringMatching(/^blake3:[0-9a-f]{64}$/),
      params: { board: 'main' },
      max_concurrent: 3,
      trust_required: 'trusted',
      timeout_seconds: 12,
      idempotent: true
    });
  });

  it('withdrawing a capability removes it from the manifest and from routing, once', async () => {
    const { bus, time, localChanges } = makeBus();
    const withdraw = bus.register({ name: 'experimental.echo', version: '1.0', handler: echo });
    expect(await time.resolve(bus.call('experimental.echo', '1.0', {}))).toMatchObject({ served_by: SELF });
    withdraw();
    withdraw();
    expect(localChanges()).toBe(2);
    expect(bus.manifestEntries()).toEqual([]);
    expect((await failure(time, bus.call('experimental.echo', '1.0', {}))).code).toBe('not_found');
    // The name is free again.
    bus.register({ name: 'experimental.echo', version: '1.0', handler: echo });
    expect(bus.manifestEntries()).toHaveLength(1);
  });
});

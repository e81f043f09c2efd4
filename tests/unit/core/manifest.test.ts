import { describe, expect, it } from 'vitest';
import { buildNodeManifest, generateKeyPair, HearthError, KeyPins, signPayload, verifyNodeManifest, type Clock } from '../../../src/lib/core/index.js';

const at = (ms: number): Clock => ({ now: () => ms });
const T0 = Date.parse('2026-05-26T08:14:22Z');

async function expectCode(p: Promise<unknown>, code: string) {
  const err = await p.then(
    () => null,
    (e: unknown) => e
  );
  expect(err).toBeInstanceOf(HearthError);
  expect((err as HearthError).code).toBe(code);
}

describe('node manifests (W6)', () => {
  it('lives exactly 30 s and verifies until then', async () => {
    const kp = await generateKeyPair();
    const m = await buildNodeManifest(kp, { communityId: 'c', displayName: 'garage-pc', profile: 'hearth' }, at(T0 + 400));
    expect(m.issued_at).toBe('2026-05-26T08:14:22Z');
    expect(m.expires_at).toBe('2026-05-26T08:14:52Z');
    expect(m.contract_version).toBe('1.0');
    await expect(verifyNodeManifest(m, at(T0 + 30_000))).resolves.toEqual(m);
    await expectCode(verifyNodeManifest(m, at(T0 + 30_001)), 'expired');
  });

  it('rejects tampering, a wrong TTL, a bad shape and a future issue time', async () => {
    const kp = await generateKeyPair();
    const m = await buildNodeManifest(kp, { communityId: 'c', displayName: 'a', profile: 'spark' }, at(T0));
    await expectCode(verifyNodeManifest({ ...m, display_name: 'b' }, at(T0)), 'invalid_signature');
    const longLived = await signPayload({ ...m, expires_at: '2026-05-26T08:15:22Z' }, kp);
    await expectCode(verifyNodeManifest(longLived, at(T0)), 'bad_request');
    await expectCode(verifyNodeManifest({ ...m, profile: 'wizard' }, at(T0)), 'bad_request');
    await expectCode(verifyNodeManifest('not a manifest', at(T0)), 'bad_request');
    await expectCode(verifyNodeManifest(m, at(T0 - 120_000)), 'bad_request');
  });

  it('names the offending field in shape errors', async () => {
    const kp = await generateKeyPair();
    const m = await buildNodeManifest(kp, { communityId: 'c', displayName: 'a', profile: 'spark' }, at(T0));
    const err = await verifyNodeManifest({ ...m, node_id: 'ed25519:short' }, at(T0)).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/node_id/);
  });

  it('pins the first key seen for a short id (TOFU)', async () => {
    const kp = await generateKeyPair();
    const pins = new KeyPins();
    const m = await buildNodeManifest(kp, { communityId: 'c', displayName: 'a', profile: 'spark' }, at(T0));
    await verifyNodeManifest(m, at(T0), pins);
    expect(pins.size).toBe(1);
    // A different key whose first 10 bytes match (what a short-id grinder would produce) is refused.
    const impostor = kp.nodeId.slice(0, -4) + (kp.nodeId.endsWith('AAAA') ? 'BAAA' : 'AAAA');
    expect(() => pins.check(impostor)).toThrow(/differs from the first-seen key/);
  });
});

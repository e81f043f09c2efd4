import { describe, expect, it } from 'vitest';
import {
  decodeSignature,
  encodeSignature,
  fullNodeId,
  generateKeyPair,
  hexDecode,
  keyPairFromSeed,
  signingBytes,
  signPayload,
  verifyEd25519,
  verifyNoble,
  verifyPayload
} from '../../../src/lib/core/index.js';
import { loadWireVectors } from './vectors.js';

const vectors = loadWireVectors();
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function toLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}
function fromLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  return n;
}

describe('signing (W2)', () => {
  it.each(vectors.signed)('reproduces the libsodium signature for vector %#', async (v) => {
    for (const engine of ['webcrypto', 'noble'] as const) {
      const kp = await keyPairFromSeed(hexDecode(vectors.keys[v.seed_index].seed_hex), { engine });
      const signed = await signPayload(v.payload, kp);
      expect(signed.signature).toBe(v.signed.signature);
      expect(await verifyPayload(v.signed, kp.nodeId)).toBe(true);
    }
  });

  it('round-trips random payloads and re-signing replaces the old signature', async () => {
    const kp = await generateKeyPair();
    for (let i = 0; i < 25; i++) {
      const payload = { i, text: 'x'.repeat(i), nested: { list: [i, -i, i / 7], flag: i % 2 === 0 } };
      const signed = await signPayload(payload, kp);
      expect(await verifyPayload(signed, kp.nodeId)).toBe(true);
      const again = await signPayload({ ...signed, i: i + 1 }, kp);
      expect(await verifyPayload(again, kp.nodeId)).toBe(true);
    }
  });

  it('fails when any field changes, the key differs, or the signature is mangled', async () => {
    const kp = await generateKeyPair();
    const other = await generateKeyPair();
    const signed = await signPayload({ hello: 'world', n: 1 }, kp);
    expect(await verifyPayload({ ...signed, n: 2 }, kp.nodeId)).toBe(false);
    expect(await verifyPayload({ ...signed, extra: true }, kp.nodeId)).toBe(false);
    expect(await verifyPayload(signed, other.nodeId)).toBe(false);
    const bytes = decodeSignature(signed.signature)!;
    bytes[10] ^= 1;
    expect(await verifyPayload({ ...signed, signature: encodeSignature(bytes) }, kp.nodeId)).toBe(false);
    expect(await verifyPayload({ ...signed, signature: signed.signature.replace('ed25519:', 'rsa:') }, kp.nodeId)).toBe(false);
    expect(await verifyPayload({ hello: 'world', n: 1 }, kp.nodeId)).toBe(false);
    expect(await verifyPayload(null, kp.nodeId)).toBe(false);
    expect(await verifyPayload([signed], kp.nodeId)).toBe(false);
    expect(await verifyPayload(signed, 'ed25519:not-a-key')).toBe(false);
  });
});

describe('verification agrees with libsodium on edge cases (W3)', () => {
  async function cases() {
    const kp = await keyPairFromSeed(hexDecode(vectors.keys[0].seed_hex));
    const message = signingBytes({ hello: 'world', n: 1 });
    const good = decodeSignature(vectors.signed[0].signed.signature)!;
    const sPlusL = good.slice();
    sPlusL.set(toLE(fromLE(good.subarray(32)) + L), 32);
    const identity = hexDecode('0100000000000000000000000000000000000000000000000000000000000000');
    const zeroS = new Uint8Array(64);
    zeroS.set(identity, 0);
    const smallOrderR = good.slice();
    smallOrderR.set(hexDecode('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'), 0);
    // y + p for a canonical key with y < 19 cannot be built in general; the all-0xff (y = 2^255-1 ≥ p) key is non-canonical.
    const nonCanonicalKey = hexDecode('ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    return [
      { name: 'valid', sig: good, msg: message, key: kp.publicKey, accept: true },
      { name: 'S + L (non-canonical S)', sig: sPlusL, msg: message, key: kp.publicKey, accept: false },
      { name: 'identity key, identity R, S = 0', sig: zeroS, msg: message, key: identity, accept: false },
      { name: 'small-order R', sig: smallOrderR, msg: message, key: kp.publicKey, accept: false },
      { name: 'non-canonical public key', sig: good, msg: message, key: nonCanonicalKey, accept: false },
      { name: 'truncated signature', sig: good.subarray(0, 63), msg: message, key: kp.publicKey, accept: false }
    ];
  }

  it('WebCrypto and noble give the libsodium answer', async () => {
    for (const c of await cases()) {
      expect([c.name, await verifyEd25519(c.sig, c.msg, c.key)]).toEqual([c.name, c.accept]);
      expect([c.name, verifyNoble(c.sig, c.msg, c.key)]).toEqual([c.name, c.accept]);
    }
  });

  it('refuses a payload that claims the identity key as author', async () => {
    const identityId = fullNodeId(hexDecode('0100000000000000000000000000000000000000000000000000000000000000'));
    const forged = { a: 1, signature: encodeSignature(hexDecode('01' + '00'.repeat(63))) };
    expect(await verifyPayload(forged, identityId)).toBe(false);
  });
});

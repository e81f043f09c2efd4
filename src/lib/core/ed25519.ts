/**
 * Ed25519 with one accept/reject rule everywhere (DESIGN §3.2): libsodium's. WebCrypto is used where the platform
 * has it (5-10x faster); @noble/ed25519 otherwise. Both produce identical signatures (RFC 8032 is deterministic).
 *
 * Verification agrees across platforms because the libsodium checks that WebCrypto engines differ on are done here
 * first: canonical S (< L), public key canonical and not of small order, R not of small order; the final equation
 * is cofactorless ([S]B == R + [k]A compared as encodings), as in libsodium, BoringSSL and OpenSSL.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesEqual, hexDecode } from './encoding.js';

ed.hashes.sha512 = sha512;

const PKCS8_ED25519_PREFIX = hexDecode('302e020100300506032b657004220420');

/** Group order L, little-endian bytes, for the canonical-S check. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** libsodium's blocklist of small-order encodings (ed25519_ref10.c, ge25519_has_small_order), top bit ignored. */
const SMALL_ORDER_ENCODINGS: Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'
].map(hexDecode);

export function hasSmallOrderEncoding(point: Uint8Array): boolean {
  return SMALL_ORDER_ENCODINGS.some((bad) => {
    for (let i = 0; i < 31; i++) if (bad[i] !== point[i]) return false;
    return (bad[31] & 0x7f) === (point[31] & 0x7f);
  });
}

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** y must be below p = 2^255 - 19 (the sign bit is separate). */
function isCanonicalPointEncoding(point: Uint8Array): boolean {
  const y = littleEndianToBigInt(point) & ((1n << 255n) - 1n);
  return y < 2n ** 255n - 19n;
}

const publicKeyChecks = new Map<string, boolean>();

/** Decodes and checks a public key once; results are cached because peers reuse their keys for every frame. */
function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  const cacheKey = String.fromCharCode(...publicKey);
  const cached = publicKeyChecks.get(cacheKey);
  if (cached !== undefined) return cached;
  let ok = isCanonicalPointEncoding(publicKey) && !hasSmallOrderEncoding(publicKey);
  if (ok) {
    try {
      const point = ed.Point.fromBytes(publicKey, false);
      ok = !point.isSmallOrder();
    } catch {
      ok = false;
    }
  }
  if (publicKeyChecks.size > 10_000) publicKeyChecks.clear();
  publicKeyChecks.set(cacheKey, ok);
  return ok;
}

function passesLibsodiumPrechecks(signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  if (littleEndianToBigInt(signature.subarray(32)) >= L) return false;
  if (hasSmallOrderEncoding(signature.subarray(0, 32))) return false;
  return isAcceptablePublicKey(publicKey);
}

type Subtle = SubtleCrypto;
let subtleSupport: Promise<Subtle | null> | null = null;

/** WebCrypto Ed25519 if this platform has it (Chromium 113+, Node 20, Safari 17), else null. */
export function webCryptoEd25519(): Promise<Subtle | null> {
  subtleSupport ??= (async () => {
    const subtle = globalThis.crypto?.subtle;
    if (!subtle) return null;
    try {
      const key = await subtle.importKey('raw', publicKeyFromSeedNoble(new Uint8Array(32)) as BufferSource, { name: 'Ed25519' }, false, ['verify']);
      return key ? subtle : null;
    } catch {
      return null;
    }
  })();
  return subtleSupport;
}

export function publicKeyFromSeedNoble(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

export function signNoble(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return ed.sign(message, seed);
}

/** Cofactorless verification with noble's point arithmetic, for platforms without WebCrypto Ed25519. */
export function verifyNoble(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!passesLibsodiumPrechecks(signature, publicKey)) return false;
  try {
    const A = ed.Point.fromBytes(publicKey, false);
    const r = signature.subarray(0, 32);
    const s = littleEndianToBigInt(signature.subarray(32));
    const k = littleEndianToBigInt(sha512(concat(r, publicKey, message))) % L;
    const sB = s === 0n ? ed.Point.ZERO : ed.Point.BASE.multiply(s, false);
    const kA = k === 0n ? ed.Point.ZERO : A.multiply(k, false);
    return bytesEqual(sB.subtract(kA).toBytes(), r);
  } catch {
    return false;
  }
}

export async function importSeedToWebCrypto(subtle: Subtle, seed: Uint8Array, extractable = false): Promise<CryptoKey> {
  const pkcs8 = concat(PKCS8_ED25519_PREFIX, seed);
  return subtle.importKey('pkcs8', pkcs8 as BufferSource, { name: 'Ed25519' }, extractable, ['sign']);
}

const verifyKeyCache = new Map<string, Promise<CryptoKey>>();

export async function verifyWebCrypto(
  subtle: Subtle,
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array
): Promise<boolean> {
  if (!passesLibsodiumPrechecks(signature, publicKey)) return false;
  const cacheKey = String.fromCharCode(...publicKey);
  let key = verifyKeyCache.get(cacheKey);
  if (!key) {
    key = subtle.importKey('raw', publicKey as BufferSource, { name: 'Ed25519' }, false, ['verify']);
    if (verifyKeyCache.size > 10_000) verifyKeyCache.clear();
    verifyKeyCache.set(cacheKey, key);
  }
  try {
    return await subtle.verify({ name: 'Ed25519' }, await key, signature as BufferSource, message as BufferSource);
  } catch {
    verifyKeyCache.delete(cacheKey);
    return false;
  }
}

/** Verify with the fastest engine available; same answer either way. */
export async function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  const subtle = await webCryptoEd25519();
  return subtle ? verifyWebCrypto(subtle, signature, message, publicKey) : verifyNoble(signature, message, publicKey);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

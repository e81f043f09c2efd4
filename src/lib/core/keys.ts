/**
 * Device keys. A KeyPair never exposes its private half: it signs. In browsers the private key is a
 * non-extractable WebCrypto key; elsewhere it may be a seed used by noble.
 */
import { importSeedToWebCrypto, publicKeyFromSeedNoble, signNoble, webCryptoEd25519 } from './ed25519.js';
import { fullNodeId, shortNodeId } from './node-id.js';

export interface KeyPair {
  readonly publicKey: Uint8Array;
  /** Full NodeID. */
  readonly nodeId: string;
  /** Display form. */
  readonly shortId: string;
  /** Which engine signs: results are identical, speed is not. */
  readonly engine: 'webcrypto' | 'noble';
  sign(message: Uint8Array): Promise<Uint8Array>;
}

function makeKeyPair(publicKey: Uint8Array, engine: KeyPair['engine'], sign: KeyPair['sign']): KeyPair {
  return Object.freeze({ publicKey, nodeId: fullNodeId(publicKey), shortId: shortNodeId(publicKey), engine, sign });
}

export interface KeyPairOptions {
  /** Force an engine (benchmarks, conformance); default: WebCrypto when the platform has Ed25519. */
  engine?: KeyPair['engine'];
}

export async function keyPairFromSeed(seed: Uint8Array, options: KeyPairOptions = {}): Promise<KeyPair> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error('keyPairFromSeed: seed must be 32 bytes');
  const publicKey = publicKeyFromSeedNoble(seed);
  const subtle = options.engine === 'noble' ? null : await webCryptoEd25519();
  if (options.engine === 'webcrypto' && !subtle) throw new Error('keyPairFromSeed: this platform has no WebCrypto Ed25519');
  if (subtle) {
    const privateKey = await importSeedToWebCrypto(subtle, seed);
    return keyPairFromCryptoKey(privateKey, publicKey);
  }
  const ownSeed = seed.slice();
  return makeKeyPair(publicKey, 'noble', async (message) => signNoble(message, ownSeed));
}

/** Wraps a (typically non-extractable) WebCrypto private key; the public key is given as raw bytes. */
export function keyPairFromCryptoKey(privateKey: CryptoKey, publicKey: Uint8Array): KeyPair {
  const subtle = globalThis.crypto.subtle;
  return makeKeyPair(publicKey, 'webcrypto', async (message) => {
    return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, privateKey, message as BufferSource));
  });
}

export function randomSeed(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

export async function generateKeyPair(options: KeyPairOptions = {}): Promise<KeyPair> {
  return keyPairFromSeed(randomSeed(), options);
}

/**
 * Isomorphic primitive benchmarks, run both in Node and (bundled) in Chromium: Ed25519 sign/verify with
 * WebCrypto vs noble, and BLAKE3 over 1 MiB with hash-wasm (what cidOf uses) vs noble's pure-JS BLAKE3.
 */
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { cidOf, keyPairFromSeed, signingBytes, verifyEd25519, verifyNoble } from '../src/lib/core/index.js';

export interface BenchRow {
  what: string;
  engine: string;
  value: number;
  unit: string;
}

async function rate(fn: () => Promise<unknown> | unknown, minMs: number): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

export async function runPrimitiveBench(minMs = 1000): Promise<BenchRow[]> {
  const seed = new Uint8Array(32).map((_, i) => i * 7);
  const message = signingBytes({ capability: 'experimental.ping', body: { input: { payload: 'x'.repeat(64) } } });
  const rows: BenchRow[] = [];
  for (const engine of ['webcrypto', 'noble'] as const) {
    const kp = await keyPairFromSeed(seed, { engine });
    const signature = await kp.sign(message);
    rows.push({ what: 'Ed25519 sign', engine, value: await rate(() => kp.sign(message), minMs), unit: 'ops/s' });
    const verify = engine === 'webcrypto' ? () => verifyEd25519(signature, message, kp.publicKey) : () => verifyNoble(signature, message, kp.publicKey);
    rows.push({ what: 'Ed25519 verify', engine, value: await rate(verify, minMs), unit: 'ops/s' });
  }
  const mib = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) % 251);
  rows.push({ what: 'BLAKE3 1 MiB', engine: 'hash-wasm (cidOf)', value: await rate(() => cidOf(mib), minMs), unit: 'MiB/s' });
  rows.push({ what: 'BLAKE3 1 MiB', engine: 'noble (pure JS)', value: await rate(() => nobleBlake3(mib), minMs), unit: 'MiB/s' });
  return rows;
}

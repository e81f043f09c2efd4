/** Shared helpers for transport unit tests: deterministic keys, a settable clock, and hand-built frames. */
import { buildNodeManifest, keyPairFromSeed, type Clock, type KeyPair } from '../../../src/lib/core/index.js';
import { FrameSigner, type PeerFrame } from '../../../src/lib/transport/index.js';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export class ManualClock implements Clock {
  constructor(public ms = T0) {}
  now(): number {
    return this.ms;
  }
}

export async function testKey(n: number): Promise<KeyPair> {
  return keyPairFromSeed(new Uint8Array(32).fill(n));
}

export async function manifestFrame(keyPair: KeyPair, clock: Clock): Promise<PeerFrame> {
  const manifest = await buildNodeManifest(keyPair, { communityId: 'test:community', displayName: 'peer', profile: 'spark' }, clock);
  return { t: 'manifest', manifest };
}

let counter = 0;
/** Distinct, well-formed ULIDs (time part fixed) without needing a generator. */
export function requestId(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let n = ++counter;
  let tail = '';
  for (let i = 0; i < 10; i++) {
    tail = alphabet[n % 32] + tail;
    n = Math.floor(n / 32);
  }
  return '01JGZ00000000000' + tail;
}

export async function callFrame(signer: FrameSigner, body: unknown = { input: {} }, id = requestId()): Promise<PeerFrame> {
  return signer.call({ capability: 'experimental.ping', version: '1.0', requestId: id, community: 'test:community', body });
}

import { describe, expect, it } from 'vitest';
import {
  fullNodeId,
  generateKeyPair,
  hexDecode,
  hexEncode,
  isFullNodeId,
  keyPairFromSeed,
  parseNodeId,
  SHORT_NODE_ID_PATTERN,
  shortNodeId
} from '../../../src/lib/core/index.js';
import { loadWireVectors } from './vectors.js';

const vectors = loadWireVectors();

describe('device keys and NodeIDs (W4)', () => {
  for (const engine of ['webcrypto', 'noble'] as const) {
    it.each(vectors.keys)(`derives public key and ids from the seed with ${engine} %#`, async (k) => {
      const kp = await keyPairFromSeed(hexDecode(k.seed_hex), { engine });
      expect(kp.engine).toBe(engine);
      expect(hexEncode(kp.publicKey)).toBe(k.public_hex);
      expect(kp.nodeId).toBe(k.node_id_full);
      expect(kp.shortId).toBe(k.node_id_short);
      expect(fullNodeId(kp.publicKey)).toBe(k.node_id_full);
      expect(shortNodeId(kp.publicKey)).toBe(k.node_id_short);
    });
  }

  it('parses the full form back to the key bytes', () => {
    for (const k of vectors.keys) expect(hexEncode(parseNodeId(k.node_id_full))).toBe(k.public_hex);
  });

  it('refuses the short form and malformed ids with a reason', () => {
    expect(() => parseNodeId(vectors.keys[0].node_id_short)).toThrow(/short form is for display only/);
    expect(() => parseNodeId('ed25519:abc')).toThrow(/43 base64url characters/);
    expect(() => parseNodeId('rsa:' + 'A'.repeat(43))).toThrow();
    // 43 chars whose last one carries non-zero trailing bits is not a canonical encoding of 32 bytes.
    expect(isFullNodeId('ed25519:' + 'A'.repeat(42) + 'B')).toBe(false);
  });

  it('short ids have four groups of four base32 characters', async () => {
    for (let i = 0; i < 20; i++) {
      const kp = await generateKeyPair();
      expect(kp.shortId).toMatch(SHORT_NODE_ID_PATTERN);
      expect(isFullNodeId(kp.nodeId)).toBe(true);
    }
  });

  it('refuses seeds that are not 32 bytes', async () => {
    await expect(keyPairFromSeed(new Uint8Array(31))).rejects.toThrow(/32 bytes/);
  });
});

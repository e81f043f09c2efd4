import { describe, expect, it } from 'vitest';
import { base64UrlEncode, HearthError, keyPairFromSeed, shortOf, utf8Encode } from '../../../src/lib/core/index.js';
import { decodeDeviceCard, DEVICE_CARD_PREFIX, encodeDeviceCard } from '../../../src/lib/community/device-card.js';

const device = await keyPairFromSeed(new Uint8Array(32).fill(7));
const card = { node_id_full: device.nodeId, display_name: "Hannes' Tablet" };
const wrap = (value: unknown) => DEVICE_CARD_PREFIX + base64UrlEncode(utf8Encode(JSON.stringify(value)));

function refusal(run: () => unknown): HearthError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(HearthError);
    return err as HearthError;
  }
  throw new Error('expected a refusal');
}

describe('fresh-device card (M13 §4.4)', () => {
  it('round-trips, as hearthnet-id://v1/ + base64url of canonical JSON', () => {
    const text = encodeDeviceCard(card);
    expect(text).toBe(DEVICE_CARD_PREFIX + base64UrlEncode(utf8Encode(`{"display_name":"Hannes' Tablet","node_id_full":"${device.nodeId}"}`)));
    expect(decodeDeviceCard(text)).toEqual(card);
    expect(decodeDeviceCard(`  ${text}\n`)).toEqual(card);
  });

  it('keeps non-ASCII names intact', () => {
    const named = { ...card, display_name: 'Küche – Jürgens Pixel 🍲' };
    expect(decodeDeviceCard(encodeDeviceCard(named))).toEqual(named);
  });

  it('refuses to make a card with a short id, an empty name or a name over 64 characters', () => {
    expect(refusal(() => encodeDeviceCard({ ...card, node_id_full: shortOf(device.nodeId) })).code).toBe('bad_request');
    expect(refusal(() => encodeDeviceCard({ ...card, display_name: '  ' })).message).toMatch(/1 to 64 characters/);
    expect(refusal(() => encodeDeviceCard({ ...card, display_name: 'x'.repeat(65) })).code).toBe('bad_request');
  });

  it('refuses malformed codes with bad_request and says what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['ed25519:abcdef', /should start with "hearthnet-id:\/\/v1\/" \(this looks like an invite/],
      ["hello", /should start with "hearthnet-id:\/\/v1\/"\.$/],
      [DEVICE_CARD_PREFIX + 'abc$', /not valid base64url/],
      [DEVICE_CARD_PREFIX + base64UrlEncode(utf8Encode('{"node_id_full":')), /not valid JSON/],
      [wrap(['x']), /does not hold a JSON object/],
      [wrap({ ...card, node_id_full: 'ed25519:tooshort' }), /node_id_full is not a full NodeID/],
      [wrap({ node_id_full: device.nodeId }), /display_name must be 1 to 64 characters/],
      [wrap({ ...card, signature: 'x' }), /fields a device code does not have \(signature\)/],
      [DEVICE_CARD_PREFIX + 'A'.repeat(2000), /longer than 1024 bytes/]
    ];
    for (const [text, message] of cases) {
      const err = refusal(() => decodeDeviceCard(text));
      expect(err.code).toBe('bad_request');
      expect(err.message).toMatch(/^This is not a HearthNet device code: /);
      expect(err.message).toMatch(message);
    }
  });
});

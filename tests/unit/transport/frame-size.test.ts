import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '../../../src/lib/core/index.js';
import { decodeFrame, encodeFrame, utf8ByteLength, type PeerFrame } from '../../../src/lib/transport/index.js';
import { ManualClock } from './fixtures.js';

/**
 * The size check counts UTF-8 bytes exactly only when it has to: a text of at most MAX_FRAME_BYTES / 3 UTF-16 units
 * fits whatever it holds, one longer than MAX_FRAME_BYTES never does. These pin the edges of that shortcut.
 */
const NODE = 'ed25519:' + 'A'.repeat(43);
const context = { remoteNodeId: NODE, clock: new ManualClock() };

/** A JSON object text of exactly `units` UTF-16 units made of `char` (one unit each). */
function textOf(units: number, char: string): string {
  const shell = '{"t":"call","p":""}';
  return shell.slice(0, -2) + char.repeat(units - shell.length) + '"}';
}

async function refusedForSize(raw: string): Promise<boolean> {
  const result = await decodeFrame(raw, context);
  return !result.ok && result.rejection.code === 'bad_request' && /exceeds/.test(result.rejection.message);
}

describe('frame size checks (P, P9)', () => {
  const third = Math.floor(MAX_FRAME_BYTES / 3);

  it('three-byte characters just over the limit are refused, just under it are not refused for size', async () => {
    const under = textOf(third, '€');
    expect(utf8ByteLength(under)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(await refusedForSize(under)).toBe(false);
    const over = textOf(third + 20, '€'); // past the shortcut's bound, so counted
    expect(utf8ByteLength(over)).toBeGreaterThan(MAX_FRAME_BYTES);
    expect(await refusedForSize(over)).toBe(true);
  });

  it('ASCII up to the limit is not refused for size, one byte more is', async () => {
    expect(await refusedForSize(textOf(MAX_FRAME_BYTES, 'x'))).toBe(false);
    expect(await refusedForSize(textOf(MAX_FRAME_BYTES + 1, 'x'))).toBe(true);
  });

  it('two-byte characters between the bounds are counted exactly', async () => {
    const units = Math.floor(MAX_FRAME_BYTES / 2) + 10; // more than a third, fewer than the limit, over it in bytes
    expect(await refusedForSize(textOf(units, 'é'))).toBe(true);
    expect(await refusedForSize(textOf(Math.floor(MAX_FRAME_BYTES / 2) - 10, 'é'))).toBe(false);
  });

  it('encodeFrame refuses a frame over the limit in bytes, also when its text is short in units', () => {
    const body = '€'.repeat(third); // ~65 KB of UTF-8 once wrapped, in about a third as many units
    const frame = { t: 'response', response: { request_id: 'x', from: NODE, timestamp: 't', body, signature: 's' } } as unknown as PeerFrame;
    expect(() => encodeFrame(frame)).toThrow(/over the 65536-byte limit/);
    const small = { ...frame, response: { ...(frame as { response: object }).response, body: '€'.repeat(1000) } } as unknown as PeerFrame;
    expect(encodeFrame(small)).toBe(JSON.stringify(small));
  });
});

import { describe, expect, it } from 'vitest';
import QRCode from 'qrcode';
import { PNG } from 'pngjs';
import { qrModulesPerSide, qrSvg, qrVersion } from '../../../src/lib/ui/qr/render.js';
import { scanPixels } from '../../../src/lib/ui/qr/scan.js';
import { keyPairFromSeed } from '../../../src/lib/core/index.js';
import { decodeInvite, inviteLink, newInviteSecret, signInvite } from '../../../src/lib/community/invite-blob.js';

/** Renders like a screen would (qrcode's PNG at level M), then decodes the pixels with our scanner. */
async function renderAndScan(text: string, options: { scale?: number; dark?: string; light?: string } = {}): Promise<string | null> {
  const png = await QRCode.toBuffer(text, {
    type: 'png',
    errorCorrectionLevel: 'M',
    margin: 2,
    scale: options.scale ?? 4,
    color: { dark: options.dark ?? '#000000ff', light: options.light ?? '#ffffffff' }
  });
  const image = PNG.sync.read(png);
  return scanPixels({ data: image.data, width: image.width, height: image.height }, { tryInverted: true });
}

describe('QR render and scan', () => {
  it('decodes back the text it rendered, short and invite-sized', async () => {
    const link = 'https://192.168.178.20:8443/join#ed25519:' + 'eyJiIjpbImh0dHBzOi8vMTkyLjE2OC4xNzguMjA6ODQ0MyJdLCJj'.repeat(12);
    for (const text of ['hello, neighbour', 'hearthnet-id://v1/eyJkaXNwbGF5X25hbWUiOiJUYWJsZXQifQ', link]) {
      expect(await renderAndScan(text)).toBe(text);
    }
  });

  it('reads a one-scan join link (version 20) back into the verified invite', async () => {
    const inviter = await keyPairFromSeed(new Uint8Array(32).fill(1));
    const community = await keyPairFromSeed(new Uint8Array(32).fill(2));
    const invite = await signInvite(
      {
        community_id: community.nodeId,
        community_name: 'Niederrhein Demo',
        initial_level: 'member',
        expires_at: '2026-05-27T00:00:00Z',
        invite_event_id: '01HXR3Q5Z8K2M4N6P8R0S2T4V6',
        bootstrap: ['https://192.168.178.20:8443'],
        ...(await newInviteSecret(new Uint8Array(32).fill(3)))
      },
      inviter
    );
    const link = inviteLink('https://192.168.178.20:8443', invite);
    expect(qrVersion(link)).toBe(20);
    // 3 px per module: a 303 px picture, about what a 720 px camera frame holds when the code fills less than half of it.
    const scanned = await renderAndScan(link, { scale: 3 });
    expect(scanned).toBe(link);
    expect(await decodeInvite(scanned!)).toEqual(invite);
  });

  it('reads light-on-dark codes when asked to try inverted', async () => {
    expect(await renderAndScan('inverted', { dark: '#ffffffff', light: '#000000ff' })).toBe('inverted');
  });

  it('returns null for pixels without a code and for malformed pixel buffers', () => {
    const blank = new Uint8ClampedArray(64 * 64 * 4).fill(255);
    expect(scanPixels({ data: blank, width: 64, height: 64 })).toBeNull();
    expect(scanPixels({ data: blank, width: 65, height: 64 })).toBeNull();
    expect(scanPixels({ data: blank, width: 0, height: 0 })).toBeNull();
  });

  it('renders SVG with a viewBox sized by the QR version', async () => {
    const svg = await qrSvg('hello', { margin: 2 });
    const version = qrVersion('hello');
    expect(version).toBe(1); // 5 bytes; version 1 at level M holds 14
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const side = qrModulesPerSide(version) + 2 * 2;
    expect(svg).toContain(`viewBox="0 0 ${side} ${side}"`);
  });

  it('reports the version a text needs at level M', () => {
    expect(qrVersion('x'.repeat(666))).toBe(20); // level M byte capacity of version 20
    expect(qrVersion('x'.repeat(667))).toBe(21);
  });
});

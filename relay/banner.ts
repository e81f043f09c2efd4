/**
 * The friendly start-up text for a person at the terminal: where to open the app locally, the LAN addresses a
 * phone can use (https: phones need a secure context) and a QR code of the first one to scan.
 */
import QRCode from 'qrcode';
import type { BridgeHandle } from './bridge.js';
import { hostPort, isWildcardHost, lanIPv4Addresses } from './lan.js';

export function lanUrls(bind: string, handle: Pick<BridgeHandle, 'port' | 'httpsPort'>, addresses: string[] = lanIPv4Addresses()): string[] {
  const reachable = isWildcardHost(bind) ? addresses : addresses.filter((a) => a === bind);
  return handle.httpsPort !== null
    ? reachable.map((a) => `https://${hostPort(a, handle.httpsPort!)}`)
    : reachable.map((a) => `http://${hostPort(a, handle.port)}`);
}

export async function bannerText(options: { name: string; version: string; handle: BridgeHandle; bind: string; addresses?: string[] }): Promise<string> {
  const { handle } = options;
  const urls = lanUrls(options.bind, handle, options.addresses);
  const local = `http://${hostPort('localhost', handle.port)}`;
  const lines = [
    '',
    `  HearthNet bridge "${options.name}" ${options.version}`,
    `  node ${handle.shortId}`,
    '',
    `  On this machine:  ${local}`
  ];
  if (urls.length === 0) {
    lines.push('  On the LAN:       (no LAN address found; is this machine on a network?)');
  } else {
    lines.push(`  On the LAN:       ${urls[0]}`, ...urls.slice(1).map((u) => `                    ${u}`));
    if (handle.httpsPort !== null) lines.push('                    (self-signed certificate: accept the warning once per device)');
    lines.push('', '  Scan to open on a phone:', '');
    const qr = await QRCode.toString(urls[0], { type: 'terminal', small: true });
    lines.push(...qr.trimEnd().split('\n').map((row) => `  ${row}`));
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * LAN presence over mDNS (M02 §3.3): announce this bridge as `_hearthnet._tcp` and keep a list of the other
 * bridges heard. Failures are logged, never fatal: a bridge without mDNS still serves everyone who has its URL.
 *
 * bonjour-service's browser only reports a service once and trusts record TTLs of up to 8 hours, so a bridge
 * that crashed (no goodbye packet) would linger. We therefore re-query every REQUERY_INTERVAL_MS, note when each
 * service last answered, and drop it after PEER_PRUNE_AFTER_SECONDS of silence.
 */
import type { EventEmitter } from 'node:events';
import { Bonjour, type Browser, type Service } from 'bonjour-service';
import type { Logger } from 'pino';
import { CONTRACT_VERSION, PEER_PRUNE_AFTER_SECONDS, type Clock } from '../src/lib/core/index.js';

export const SERVICE_TYPE = 'hearthnet'; // published as _hearthnet._tcp.local
export const REQUERY_INTERVAL_MS = 20_000;

export interface HeardBridge {
  name: string;
  node: string;
  host: string;
  port: number;
  addresses: string[];
  profile: string;
  community: string;
  manifest_url: string;
  contract_version: string;
  last_heard: string;
}

export interface MdnsOptions {
  /** Display name; the instance is `<name>-<first 4 characters of the short id after "ed25519:">`. */
  name: string;
  shortId: string;
  port: number;
  manifestUrl: string;
  /** IPv4 address of the one interface to use (tests: 127.0.0.1), or null for all. */
  interface: string | null;
  logger: Logger;
  clock: Clock;
  requeryIntervalMs?: number;
  pruneAfterMs?: number;
}

export interface MdnsPresence {
  bridges(): HeardBridge[];
  close(): Promise<void>;
}

export function instanceName(name: string, shortId: string): string {
  return `${name}-${shortId.replace(/^ed25519:/, '').slice(0, 4)}`;
}

export function txtRecord(shortId: string, manifestUrl: string): Record<string, string> {
  return { v: '1', node: shortId, community: '-', profile: 'bridge', caps: '', manifest_url: manifestUrl, contract_version: CONTRACT_VERSION };
}

/** The options multicast-dns needs to stay on one interface; binding 0.0.0.0 is what lets it receive (TESTING.md). */
export function multicastOptions(iface: string | null): { interface?: string; bind?: string } {
  return iface ? { interface: iface, bind: '0.0.0.0' } : {};
}

interface Heard {
  service: Service;
  lastHeardMs: number;
}

interface DnsRecord {
  name: string;
  type: string;
  ttl: number;
}

export function startMdns(options: MdnsOptions): MdnsPresence {
  const log = options.logger;
  const heard = new Map<string, Heard>();
  // bonjour-service types its first argument as a service config, but passes it to multicast-dns as socket options.
  const socketOptions = multicastOptions(options.interface) as unknown as ConstructorParameters<typeof Bonjour>[0];
  const bonjour = new Bonjour(socketOptions, (err: Error) => log.warn({ err: err.message }, 'mdns send failed'));
  // bonjour-service leaves multicast-dns's own events unhandled; an 'error' (EADDRINUSE, EACCES) would crash us.
  const socket = (bonjour as unknown as { server: { mdns: EventEmitter } }).server.mdns;
  socket.on('error', (err: Error) => log.warn({ err: err.message }, 'mdns unavailable; continuing without LAN discovery'));
  socket.on('warning', (err: Error) => log.debug({ err: err.message }, 'mdns warning'));

  const name = instanceName(options.name, options.shortId);
  const service = bonjour.publish({ name, type: SERVICE_TYPE, port: options.port, txt: txtRecord(options.shortId, options.manifestUrl) });
  service.on('up', () => log.info({ instance: name, port: options.port }, 'mdns announced'));
  service.on('error', (err: Error) => log.warn({ err: err.message }, 'mdns announce failed'));

  const forget = (fqdn: string, why: string) => {
    const entry = heard.get(fqdn);
    if (!entry) return;
    heard.delete(fqdn);
    log.info({ node: entry.service.txt?.node, instance: entry.service.name, why }, 'bridge left');
  };

  const browser: Browser = bonjour.find({ type: SERVICE_TYPE });
  browser.on('down', (s: Service) => forget(s.fqdn, 'goodbye'));
  // Runs after the browser's own 'response' listener (registered first), so browser.services is current.
  const onResponse = (packet: { answers: DnsRecord[]; additionals: DnsRecord[] }) => {
    const named = new Set(
      [...packet.answers, ...packet.additionals].filter((rr) => rr.ttl > 0 && (rr.type === 'SRV' || rr.type === 'TXT')).map((rr) => rr.name.toLowerCase())
    );
    if (named.size === 0) return;
    const now = options.clock.now();
    for (const s of browser.services) {
      if (!named.has(s.fqdn.toLowerCase()) || s.txt?.node === options.shortId) continue;
      const isNew = !heard.has(s.fqdn);
      heard.set(s.fqdn, { service: s, lastHeardMs: now });
      if (isNew) log.info({ node: s.txt?.node, instance: s.name, host: s.host, port: s.port, addresses: s.addresses }, 'bridge heard');
    }
  };
  socket.on('response', onResponse);

  const pruneAfterMs = options.pruneAfterMs ?? PEER_PRUNE_AFTER_SECONDS * 1000;
  const requery = setInterval(() => {
    const now = options.clock.now();
    for (const [fqdn, entry] of heard) if (now - entry.lastHeardMs > pruneAfterMs) forget(fqdn, 'silent');
    browser.update();
  }, options.requeryIntervalMs ?? REQUERY_INTERVAL_MS);
  requery.unref();

  return {
    bridges() {
      return [...heard.values()].map(({ service: s, lastHeardMs }) => ({
        name: s.name,
        node: String(s.txt?.node ?? ''),
        host: s.host,
        port: s.port,
        addresses: s.addresses ?? [],
        profile: String(s.txt?.profile ?? ''),
        community: String(s.txt?.community ?? ''),
        manifest_url: String(s.txt?.manifest_url ?? ''),
        contract_version: String(s.txt?.contract_version ?? ''),
        last_heard: new Date(lastHeardMs).toISOString()
      }));
    },
    async close() {
      clearInterval(requery);
      socket.off('response', onResponse);
      browser.stop();
      // Send the goodbye (TTL 0) so other bridges drop us at once; do not wait forever for a dead socket.
      await withTimeout(new Promise<void>((resolve) => bonjour.unpublishAll(() => resolve())), 1000);
      await withTimeout(new Promise<void>((resolve) => bonjour.destroy(() => resolve())), 1000);
    }
  };
}

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * The bridge's composition root: device key, TLS, HTTP(S) listeners, `/signal`, mDNS and `/manifest`, wired from
 * one BridgeConfig. Nothing starts on import; `startBridge` returns a handle whose `close()` releases everything,
 * so tests run several bridges in one process.
 */
import { mkdir } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  buildNodeManifest,
  MANIFEST_REPUBLISH_INTERVAL_SECONDS,
  systemClock,
  type Clock,
  type Endpoint,
  type NodeManifest
} from '../src/lib/core/index.js';
import { CommunityRegistry } from './community-registry.js';
import { MirrorEmbedders } from './mirror-embedders.js';
import type { BridgeConfig } from './config.js';
import { BridgeCounters } from './counters.js';
import { loadOrCreateDeviceKey } from './device-key.js';
import { createRequestHandler, pathnameOf } from './http.js';
import { hostPort, isLoopbackHost, isWildcardHost, lanIPv4Addresses } from './lan.js';
import { createLogger, type Logger } from './logger.js';
import { startMdns, type MdnsPresence } from './mdns.js';
import { ModelMirror } from './model-mirror.js';
import { createSignalling, SIGNAL_PATH, type Signalling, type SignallingOptions } from './signalling.js';
import { loadTlsMaterial } from './tls.js';
import { readPackageVersion } from './version.js';

export interface StartBridgeOptions {
  logger?: Logger;
  clock?: Clock;
  /** Protocol timings, shortened by tests. */
  timing?: SignallingOptions['timing'] & { mdnsRequeryMs?: number; mdnsPruneMs?: number; joinDeadlineMs?: number };
}

export interface BridgeHandle {
  /** Where this process can reach the bridge, e.g. http://127.0.0.1:7080 */
  httpUrl: string;
  httpsUrl: string | null;
  port: number;
  httpsPort: number | null;
  nodeId: string;
  shortId: string;
  /** The host other machines are told about (mDNS, /manifest). */
  advertisedHost: string;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ' (in use by another program; choose another port)' : '';
      reject(new Error(`cannot listen for ${what} on ${hostPort(host, port)}: ${err.code ?? err.message}${hint}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
  });
}

/** The address other machines should use: the mDNS interface, the bound host, or the first LAN address. */
export function chooseAdvertisedHost(config: BridgeConfig, lanAddresses: string[] = lanIPv4Addresses()): string {
  if (config.mdns.interface && !isWildcardHost(config.mdns.interface)) return config.mdns.interface;
  if (!isWildcardHost(config.host)) return config.host;
  return lanAddresses[0] ?? `${hostname().split('.')[0]}.local`;
}

export async function startBridge(config: BridgeConfig, options: StartBridgeOptions = {}): Promise<BridgeHandle> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const log = logger.child({ logger: 'relay.bridge' });
  const clock = options.clock ?? systemClock;
  const startedAtMs = clock.now();
  const version = readPackageVersion();
  // Closed in this order: say goodbye on mDNS, close client sockets (an HTTP server's close() waits for its
  // upgraded sockets), then the listeners. Each is set once started, so a failed start closes what it opened.
  let mdns: MdnsPresence | null = null;
  let signalling: Signalling | null = null;
  let communities: CommunityRegistry | null = null;
  let models: ModelMirror | null = null;
  let embedders: MirrorEmbedders | null = null;
  const servers: Server[] = [];
  let closing: Promise<void> | null = null;
  const closeAll = (): Promise<void> => {
    closing ??= (async () => {
      const step = async (what: string, action: () => Promise<unknown>) => {
        await action().catch((err: unknown) => log.warn({ err, what }, 'error while closing'));
      };
      if (mdns) await step('mdns', mdns.close);
      if (signalling) await step('signalling', signalling.close);
      // After the sockets: the member nodes' links are gone, so nothing new reaches the logs while they close.
      if (communities) await step('communities', communities.close.bind(communities));
      if (embedders) await step('embedders', embedders.close.bind(embedders));
      if (models) await step('models', models.close.bind(models));
      await Promise.all(servers.map((server) => step('listener', () => closeServer(server))));
      log.info('bridge closed');
    })();
    return closing;
  };

  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const deviceKey = await loadOrCreateDeviceKey(config.dataDir);
    const { keyPair } = deviceKey;
    for (const warning of deviceKey.warnings) log.warn({ path: deviceKey.path }, warning);
    log.info({ node: keyPair.shortId, node_id: keyPair.nodeId, created: deviceKey.created, path: deviceKey.path }, 'device key loaded');
    const tls = config.httpsPort > 0 ? await loadTlsMaterial({ ...config, commonName: `HearthNet bridge ${config.name}` }) : null;
    if (tls) log.info({ source: tls.source, cert: tls.certPath }, 'tls certificate ready');

    // Scanned before listening (quick); hashing goes on in the background and the mirror answers 503 meanwhile.
    // Opened before the communities, whose nodes offer the sentence-embedding models found there (as they load).
    if (config.models.dir !== null) {
      models = await ModelMirror.open({ dir: config.models.dir, logger: logger.child({ logger: 'relay.models' }) });
      embedders = MirrorEmbedders.start(models, logger.child({ logger: 'relay.embed' }));
    }

    // Every community replica is open, and its node back in its room, before the first client is let in.
    const held = await CommunityRegistry.open({
      dataDir: config.dataDir,
      keyPair,
      displayName: config.name,
      clock,
      logger: logger.child({ logger: 'relay.community' }),
      joinDeadlineMs: options.timing?.joinDeadlineMs,
      llmServerUrl: config.llm.serverUrl,
      embedders
    });
    communities = held;
    const heldList = held.list();
    if (heldList.length > 0) log.info({ communities: heldList.map((c) => ({ id: c.community_id, status: c.status, events: c.events })) }, 'community replicas open');

    const counters = new BridgeCounters();
    const live = createSignalling({
      bridge: { node_id: keyPair.nodeId, name: config.name, version },
      limits: config.limits,
      counters,
      logger: logger.child({ logger: 'relay.signalling' }),
      clock,
      timing: options.timing,
      held
    });
    signalling = live;

    const advertisedHost = chooseAdvertisedHost(config);
    let endpoints: Endpoint[] = [];
    let manifestCache: { manifest: NodeManifest; issuedMs: number } | null = null;

    const uptimeSeconds = () => Math.floor((clock.now() - startedAtMs) / 1000);
    const health = () => ({
      status: 'ok',
      node_id: keyPair.nodeId,
      name: config.name,
      version,
      uptime_seconds: uptimeSeconds(),
      clients: live.sessionCount,
      sockets: live.socketCount,
      rooms: live.roomCount,
      communities: held.list().length,
      bridges: mdns?.bridges() ?? [],
      counters: counters.rejectionsSnapshot(),
      traffic: counters.trafficSnapshot()
    });
    // Re-issued on the republish interval (W6), not per request: a polling client must not cost a signature each time.
    const manifest = async () => {
      const now = clock.now();
      if (!manifestCache || now - manifestCache.issuedMs >= MANIFEST_REPUBLISH_INTERVAL_SECONDS * 1000) {
        const built = await buildNodeManifest(
          keyPair,
          { communityId: '', displayName: config.name, profile: 'bridge', endpoints, uptimeSeconds: uptimeSeconds() },
          clock
        );
        manifestCache = { manifest: built, issuedMs: now };
      }
      return manifestCache.manifest;
    };

    const handler = createRequestHandler({
      appDir: config.appDir,
      health,
      manifest,
      community: { join: (invite) => held.join(invite), list: () => held.list() },
      models,
      logger: logger.child({ logger: 'relay.http' })
    });
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (pathnameOf(request) === SIGNAL_PATH) return live.handleUpgrade(request, socket, head);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    };

    const httpServer = createHttpServer(handler);
    httpServer.on('upgrade', onUpgrade);
    servers.push(httpServer);
    const port = await listen(httpServer, config.port, config.host, 'HTTP');

    let httpsPort: number | null = null;
    if (tls) {
      const httpsServer = createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
      httpsServer.on('upgrade', onUpgrade);
      servers.push(httpsServer);
      httpsPort = await listen(httpsServer, config.httpsPort, config.host, 'HTTPS');
    }

    endpoints = [{ transport: 'http', host: advertisedHost, port }];
    if (httpsPort !== null) endpoints.push({ transport: 'https', host: advertisedHost, port: httpsPort });
    const secureManifest = httpsPort !== null && !isLoopbackHost(advertisedHost);
    const manifestUrl = secureManifest ? `https://${hostPort(advertisedHost, httpsPort!)}/manifest` : `http://${hostPort(advertisedHost, port)}/manifest`;

    if (config.mdns.enabled) {
      try {
        mdns = startMdns({
          name: config.name,
          shortId: keyPair.shortId,
          port,
          manifestUrl,
          interface: config.mdns.interface,
          logger: logger.child({ logger: 'relay.mdns' }),
          clock,
          requeryIntervalMs: options.timing?.mdnsRequeryMs,
          pruneAfterMs: options.timing?.mdnsPruneMs
        });
      } catch (err) {
        log.warn({ err }, 'mdns failed to start; continuing without LAN discovery');
      }
    }

    const localHost = isWildcardHost(config.host) ? '127.0.0.1' : config.host;
    const handle: BridgeHandle = {
      httpUrl: `http://${hostPort(localHost, port)}`,
      httpsUrl: httpsPort === null ? null : `https://${hostPort(localHost, httpsPort)}`,
      port,
      httpsPort,
      nodeId: keyPair.nodeId,
      shortId: keyPair.shortId,
      advertisedHost,
      close: closeAll
    };
    log.info({ http: handle.httpUrl, https: handle.httpsUrl, name: config.name, version, mdns: Boolean(mdns), app_dir: config.appDir, models_dir: models?.root ?? null }, 'bridge started');
    return handle;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * The composition root (STYLE §5): wires identity, sessions, the rpc layer, the peer registry, the ping capability
 * and the timers. The only place that knows all of them; nothing here runs on import, and every instance owns its
 * own state, so a test can run dozens of nodes in one process.
 */
import { CapabilityBus, interimMembership } from '../bus/index.js';
import {
  HearthError,
  KeyPins,
  MANIFEST_REPUBLISH_INTERVAL_SECONDS,
  NODE_PROFILES,
  ulidGenerator,
  type NodeManifest
} from '../core/index.js';
import {
  FrameStats,
  PATH_RANK,
  PeerRegistry,
  PeerSession,
  ReplayCache,
  Rpc,
  type Link,
  type SessionDirectory,
  type SessionHost,
  type TimerHandle
} from '../transport/index.js';
import { ManifestPublisher } from './manifest-publisher.js';
import { pingCapability, PING_CAPABILITY, PING_VERSION } from './ping.js';
import { RttProber } from './rtt-prober.js';
import type { HearthNode, NodeOptions, PingResult, PingStreamResult } from './types.js';

export const MANIFEST_REPUBLISH_INTERVAL_MS = MANIFEST_REPUBLISH_INTERVAL_SECONDS * 1000;
/** How often silent peers are looked for; P7's 30 s and 90 s are met to within this. */
export const PRUNE_CHECK_INTERVAL_MS = 5_000;
/** A ping is a tiny call: anything slower than this is a peer we should not count on. */
export const PING_TIMEOUT_MS = 5_000;
export const DISPLAY_NAME_MAX_CHARS = 64;
/** Idle sticky sessions are looked for this often; their 10 min TTL is met to within it. */
export const BUS_SWEEP_INTERVAL_MS = 60_000;

function checkDisplayName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') throw new HearthError('bad_request', 'display name must not be empty');
  if ([...name].length > DISPLAY_NAME_MAX_CHARS) throw new HearthError('bad_request', `display name must be at most ${DISPLAY_NAME_MAX_CHARS} characters`);
  return name;
}

export function createNode(options: NodeOptions): HearthNode {
  const { keyPair, clock, scheduler, profile, communityId } = options;
  if (!NODE_PROFILES.includes(profile)) throw new HearthError('bad_request', `profile must be one of ${NODE_PROFILES.join(', ')}`);
  let displayName = checkDisplayName(options.displayName);
  let stopped = false;
  const log = options.log ?? (() => {});

  const pins = new KeyPins();
  const replay = new ReplayCache({ clock });
  const stats = new FrameStats();
  const registry = new PeerRegistry(clock);
  const sessions = new Map<string, PeerSession>();
  /** Sessions whose link already carried our manifest: only those may carry our calls (P1 on the far side). */
  const introduced = new WeakSet<PeerSession>();

  const directory: SessionDirectory = {
    sessionFor(nodeId) {
      let best: PeerSession | undefined;
      for (const session of sessions.values()) {
        if (session.remoteNodeId !== nodeId || session.closed || !session.hasVerifiedManifest || !introduced.has(session)) continue;
        if (!best || PATH_RANK[session.path] < PATH_RANK[best.path]) best = session;
      }
      return best;
    }
  };

  const nextId = ulidGenerator(clock);
  let publisher: ManifestPublisher | null = null;
  let republishQueued = false;
  const bus: CapabilityBus = new CapabilityBus({
    selfId: keyPair.nodeId,
    clock,
    scheduler,
    nextId,
    membership: options.membership ?? interimMembership(keyPair.nodeId, (nodeId) => registry.get(nodeId) !== undefined),
    rateLimits: options.rateLimits,
    remote: {
      call: (peer, capability, version, body, callOptions) => rpc.call(peer, capability, version, body, callOptions),
      stream: (peer, capability, version, body, streamOptions) => rpc.stream(peer, capability, version, body, streamOptions),
      pathTo: (peer) => directory.sessionFor(peer)?.path ?? null
    },
    onLocalChange() {
      // Several registrations in one turn (a service starting) make one new manifest, not several.
      if (republishQueued || !publisher) return;
      republishQueued = true;
      queueMicrotask(() => {
        republishQueued = false;
        if (!stopped) republish().catch((err) => log('warn', 'manifest republish failed', { error: HearthError.from(err).message }));
      });
    },
    log: (level, message, fields) => log(level, message, fields)
  });
  const rpc: Rpc = new Rpc({ keyPair, clock, scheduler, communityId, handler: bus, sessions: directory, nextRequestId: nextId });
  bus.register(pingCapability(clock));
  publisher = new ManifestPublisher(keyPair, clock, () => ({
    communityId,
    displayName,
    profile,
    capabilities: bus.manifestEntries(),
    load: { in_flight_total: bus.inFlightTotal }
  }));

  /** The bus learns a peer's capabilities from each new manifest, and forgets them when the peer goes. */
  const seenManifests = new Map<string, NodeManifest>();
  registry.subscribe(({ kind, peer }) => {
    if (kind === 'removed') {
      seenManifests.delete(peer.nodeId);
      bus.peerRemoved(peer.nodeId);
    } else if (seenManifests.get(peer.nodeId) !== peer.manifest) {
      seenManifests.set(peer.nodeId, peer.manifest);
      bus.peerManifest(peer.nodeId, peer.manifest.capabilities);
    }
  });

  const host: SessionHost = {
    onFrame(session, frame) {
      registry.touch(session.remoteNodeId);
      if (frame.t === 'manifest') registry.upsertManifest(frame.manifest, { id: session.linkId, path: session.path });
      else rpc.handleFrame(session, frame);
    },
    onRejected(session, rejection) {
      stats.countRejected(rejection.code);
      log('debug', 'frame rejected', { peer: session.remoteNodeId, link: session.linkId, ...rejection });
      rpc.handleRejected(session, rejection);
    },
    onClosed(session) {
      sessions.delete(session.linkId);
      rpc.sessionClosed(session);
      registry.linkClosed(session.remoteNodeId, session.linkId);
    }
  };

  async function introduce(session: PeerSession, manifest: NodeManifest): Promise<void> {
    try {
      await session.send({ t: 'manifest', manifest });
      introduced.add(session);
    } catch (err) {
      log('debug', 'manifest not sent', { link: session.linkId, error: HearthError.from(err).message });
    }
  }

  async function republish(): Promise<void> {
    const manifest = await publisher!.rebuild();
    await Promise.all([...sessions.values()].map((session) => introduce(session, manifest)));
  }

  const prober = new RttProber({
    scheduler,
    intervalMs: options.probeIntervalMs,
    peers: () => registry.all().map((peer) => peer.nodeId),
    probe: (nodeId) => node.ping(nodeId)
  });
  const timers: TimerHandle[] = [
    scheduler.setInterval(() => {
      republish().catch((err) => log('warn', 'manifest republish failed', { error: HearthError.from(err).message }));
    }, MANIFEST_REPUBLISH_INTERVAL_MS),
    scheduler.setInterval(() => registry.prune(), PRUNE_CHECK_INTERVAL_MS),
    scheduler.setInterval(() => bus.sweep(), BUS_SWEEP_INTERVAL_MS)
  ];
  prober.start();

  const ready = publisher.current().then(() => undefined);
  ready.catch((err) => log('error', 'could not sign our manifest', { error: HearthError.from(err).message }));

  const node: HearthNode = {
    ready,

    identity: () => ({ nodeId: keyPair.nodeId, shortId: keyPair.shortId, displayName, profile, communityId }),

    manifest: () => publisher!.current(),

    async setDisplayName(name) {
      displayName = checkDisplayName(name);
      await republish();
    },

    addLink(link: Link) {
      if (stopped || link.closed || link.remoteNodeId === keyPair.nodeId) {
        if (link.remoteNodeId === keyPair.nodeId) log('warn', 'refused a link to ourselves', { link: link.id });
        link.close();
        return;
      }
      if (sessions.has(link.id)) {
        log('warn', 'link added twice; ignoring the second', { link: link.id });
        return;
      }
      const session = new PeerSession({ link, clock, pins, replay, host });
      sessions.set(link.id, session);
      publisher!.current().then(
        (manifest) => introduce(session, manifest),
        () => {} // already logged through `ready`
      );
    },

    peers: () => registry.all(),
    subscribe: (listener) => registry.subscribe(listener),
    bus,
    register: (registration) => bus.register(registration),

    call(peer, capability, version, body, callOptions) {
      if (stopped) return Promise.reject(new HearthError('partition', 'the node is stopped'));
      return rpc.call(peer, capability, version, body, callOptions);
    },

    stream(peer, capability, version, body, streamOptions) {
      return rpc.stream(peer, capability, version, body, streamOptions);
    },

    async ping(nodeId, payload = ''): Promise<PingResult> {
      const path = directory.sessionFor(nodeId)?.path ?? null;
      const started = clock.now();
      await node.call(nodeId, PING_CAPABILITY, PING_VERSION, { input: { payload } }, { timeoutMs: PING_TIMEOUT_MS });
      const rttMs = clock.now() - started;
      registry.recordRtt(nodeId, rttMs);
      return { rttMs, path };
    },

    async pingStream(nodeId, count): Promise<PingStreamResult> {
      const started = clock.now();
      let frames = 0;
      for await (const event of rpc.stream(nodeId, PING_CAPABILITY, PING_VERSION, { input: { count } })) {
        if (event.event === 'progress') frames++;
      }
      return { frames, ms: clock.now() - started };
    },

    stats: () => stats.snapshot(),

    setEmergency(emergency) {
      registry.setEmergency(emergency);
      registry.prune();
    },

    stop() {
      if (stopped) return;
      stopped = true;
      for (const timer of timers) scheduler.clearInterval(timer);
      prober.stop();
      rpc.stop();
      for (const session of [...sessions.values()]) session.close();
      registry.clear();
    }
  };
  return node;
}

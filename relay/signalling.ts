/**
 * The `/signal` WebSocket endpoint (PROTOCOL.md B1-B5): accepts upgrades from the HTTP and HTTPS listeners,
 * enforces the client limit, pings every socket and terminates the ones that stop answering. What happens on
 * each socket is client-connection.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { systemClock, type Clock } from '../src/lib/core/index.js';
import { CLOSE_GOING_AWAY, CLOSE_POLICY, ClientConnection, type SignallingContext } from './client-connection.js';
import type { BridgeCounters } from './counters.js';
import { errorMessage, peerJoinedMessage, peerLeftMessage } from './messages.js';
import type { HeldCommunities } from './room-node.js';
import { Rooms } from './rooms.js';

export const SIGNAL_PATH = '/signal';
export const HELLO_TIMEOUT_MS = 10_000;
export const HEARTBEAT_INTERVAL_MS = 15_000;
/** How long close() lets clients answer the close frame before cutting them off. */
const CLOSE_GRACE_MS = 500;

export interface SignallingOptions {
  bridge: SignallingContext['bridge'];
  limits: { maxClients: number; maxMessageBytes: number; messagesPerSecond: number };
  counters: BridgeCounters;
  logger: Logger;
  clock?: Clock;
  /** Protocol timings; tests shorten them. */
  timing?: { helloTimeoutMs?: number; heartbeatIntervalMs?: number };
  /** Communities the bridge holds as a member node (B7, B8). */
  held?: HeldCommunities;
}

export interface Signalling {
  /** Takes over an HTTP upgrade request for SIGNAL_PATH. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly socketCount: number;
  readonly sessionCount: number;
  readonly roomCount: number;
  close(): Promise<void>;
}

export function createSignalling(options: SignallingOptions): Signalling {
  const logger = options.logger;
  const { limits, counters } = options;
  const connections = new Set<ClientConnection>();
  let onAllClosed: (() => void) | null = null;
  const ctx: SignallingContext = {
    bridge: options.bridge,
    rooms: new Rooms<ClientConnection>(),
    counters,
    logger,
    clock: options.clock ?? systemClock,
    maxMessageBytes: limits.maxMessageBytes,
    messagesPerSecond: limits.messagesPerSecond,
    helloTimeoutMs: options.timing?.helloTimeoutMs ?? HELLO_TIMEOUT_MS,
    held: options.held
  };
  const unwatch = options.held ? watchHeldRooms(options.held, ctx.rooms, ctx.clock, logger, options.bridge.node_id) : () => {};

  // maxPayload is the hard memory bound: ws closes a socket (1009) on anything larger without buffering it. It is
  // twice the configured message limit so that a message just over the limit can still be read and answered with
  // the typed error B5 asks for, while a truly huge one costs the bridge nothing.
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes * 2, perMessageDeflate: false, clientTracking: false });

  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    const remote = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
    if (connections.size >= limits.maxClients) {
      counters.reject('too_many_clients');
      logger.warn({ remote, max_clients: limits.maxClients }, 'refusing client: bridge is full');
      ws.send(JSON.stringify(errorMessage('capacity_exceeded', `the bridge is full (${limits.maxClients} clients)`, 5000)));
      ws.close(CLOSE_POLICY, 'full');
      return;
    }
    const connection = new ClientConnection(ws, ctx, remote);
    connections.add(connection);
    ws.on('close', () => {
      connections.delete(connection);
      if (connections.size === 0) onAllClosed?.();
    });
  });

  const heartbeat = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        counters.reject('dead_socket');
        connection.terminate();
        continue;
      }
      connection.ping();
    }
  }, options.timing?.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();

  return {
    handleUpgrade(request, socket, head) {
      socket.on('error', () => socket.destroy()); // a client resetting mid-handshake is not our error
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    },
    get socketCount() {
      return connections.size;
    },
    get sessionCount() {
      return ctx.rooms.sessionCount;
    },
    get roomCount() {
      return ctx.rooms.roomCount;
    },
    async close() {
      clearInterval(heartbeat);
      unwatch();
      for (const connection of connections) connection.close(CLOSE_GOING_AWAY, 'bridge shutting down');
      if (connections.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          onAllClosed = resolve;
          timer = setTimeout(resolve, CLOSE_GRACE_MS);
        });
        clearTimeout(timer);
      }
      for (const connection of connections) connection.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  };
}

/**
 * Keeps rooms in step with the bridge's member nodes: a node that starts (the bridge joined a community) is
 * announced to the room and linked to every client in it (B7); when membership changes, every session in the room
 * is checked again, so a member revoked while connected is dropped at once (B8), and so is a guest whose invite has
 * expired (the member node reports a change at each such expiry). A node that stops (a join given up) leaves the room.
 */
function watchHeldRooms(held: HeldCommunities, rooms: Rooms<ClientConnection>, clock: Clock, logger: Logger, bridgeNodeId: string): () => void {
  const recheck = async (communityId: string) => {
    const node = held.get(communityId);
    if (!node?.gated) return;
    for (const session of rooms.inRoom(communityId)) {
      const refusal = await node.admission({ node_id: session.nodeId, invite: session.helloInvite }, clock.now());
      if (refusal && rooms.find(communityId, session.nodeId) === session) {
        logger.info({ node: session.nodeId, community: communityId, reason: refusal.reason }, 'dropping a session its community no longer admits');
        session.expel(refusal);
      }
    }
  };
  return held.subscribe((communityId, change) => {
    if (change === 'stopped') {
      for (const session of rooms.inRoom(communityId)) session.send(peerLeftMessage(bridgeNodeId));
      return;
    }
    const node = held.get(communityId);
    if (!node) return;
    if (change === 'started') {
      for (const session of rooms.inRoom(communityId)) {
        session.send(peerJoinedMessage(node.peerInfo));
        node.attach(session);
      }
    }
    recheck(communityId).catch((err: unknown) => logger.error({ err, community: communityId }, 'room check failed'));
  });
}

/**
 * A "browser" for bridge tests: a real HearthNode and Community (log in memory) whose links to everyone in its room
 * are relay links over one `/signal` socket, as a tab's mesh host makes them when WebRTC is off (B1-B4, B7). The
 * community's services (log sync, marketplace) run on the node unless `services: false`.
 */
import WebSocket from 'ws';
import type { Community, InviteCredential } from '../../src/lib/community/index.js';
import { base64Decode, base64Encode, rfc3339, signPayload, systemClock, type KeyPair } from '../../src/lib/core/index.js';
import { createNode, startCommunityServices, type CommunityServices, type HearthNode } from '../../src/lib/node/index.js';
import { systemScheduler, type Link, type LinkFrame } from '../../src/lib/transport/index.js';
import { waitFor, type Message } from './helpers.js';

class SocketLink implements Link {
  readonly path = 'relay' as const;
  closed = false;
  private readonly frameListeners: ((frame: LinkFrame) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly remoteNodeId: string,
    private readonly ws: WebSocket
  ) {}

  /** Text as it is; a binary frame (a chunk part) as base64 with `bin: true`, as the tab's bridge socket sends it. */
  async send(frame: LinkFrame): Promise<void> {
    while (!this.closed && this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount > 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) throw new Error(`link ${this.id} is closed`);
    const relayed = typeof frame === 'string' ? { frame } : { frame: base64Encode(frame), bin: true };
    this.ws.send(JSON.stringify({ t: 'relay', to: this.remoteNodeId, ...relayed }));
  }

  onFrame(listener: (frame: LinkFrame) => void): void {
    this.frameListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  deliver(frame: LinkFrame): void {
    if (!this.closed) for (const listener of this.frameListeners) listener(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners) listener();
  }
}

export interface SocketNodeOptions {
  url: string;
  keyPair: KeyPair;
  community: Community;
  displayName?: string;
  /** Shown in the hello and used by log sync while not a member. */
  credential?: InviteCredential | null;
  /** Start log sync and the marketplace (default true). */
  services?: boolean;
}

export class SocketNode {
  readonly received: Message[] = [];
  closeCode: number | null = null;
  services: CommunityServices | null = null;
  credential: InviteCredential | null;
  private readonly links = new Map<string, SocketLink>();
  private linkCounter = 0;

  private constructor(
    readonly node: HearthNode,
    readonly community: Community,
    readonly ws: WebSocket,
    private readonly options: SocketNodeOptions
  ) {
    this.credential = options.credential ?? null;
  }

  /** Connects and resolves once admitted (`welcome`), or with the refusal when the bridge closes the socket. */
  static async connect(options: SocketNodeOptions): Promise<SocketNode> {
    const { keyPair, community } = options;
    const node = createNode({
      keyPair,
      clock: systemClock,
      scheduler: systemScheduler,
      displayName: options.displayName ?? 'test browser',
      profile: 'spark',
      communityId: community.communityId,
      membership: community,
      probeIntervalMs: 3_600_000
    });
    const socketNode = new SocketNode(node, community, new WebSocket(options.url), options);
    if (options.services !== false) socketNode.startServices();
    await socketNode.admitted();
    return socketNode;
  }

  get nodeId(): string {
    return this.options.keyPair.nodeId;
  }

  get welcome(): Message | undefined {
    return this.received.find((m) => m.t === 'welcome');
  }

  errors(): { error: string; message: string }[] {
    return this.received.filter((m) => m.t === 'error').map((m) => m.error);
  }

  startServices(): void {
    this.services ??= startCommunityServices({
      node: this.node,
      community: this.community,
      clock: systemClock,
      scheduler: systemScheduler,
      credential: () => this.credential
    });
  }

  stopServices(): void {
    this.services?.stop();
    this.services = null;
  }

  /** Whether the node has a verified manifest from `nodeId` (so calls and sync can reach it). */
  knows(nodeId: string): boolean {
    return this.node.peers().some((p) => p.nodeId === nodeId);
  }

  async close(): Promise<void> {
    this.stopServices();
    this.node.stop();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await waitFor(() => this.closeCode !== null, 'socket close', 3000, 5);
  }

  private admitted(): Promise<void> {
    const ws = this.ws;
    ws.on('message', (data) => void this.onMessage(JSON.parse(data.toString()) as Message));
    ws.on('error', () => {});
    return new Promise((resolve, reject) => {
      ws.on('close', (code) => {
        this.closeCode = code;
        for (const link of [...this.links.values()]) link.close();
        this.links.clear();
        reject(new Error(`closed ${code} before welcome: ${JSON.stringify(this.errors())}`));
      });
      const check = setInterval(() => {
        if (this.welcome) {
          clearInterval(check);
          resolve();
        } else if (this.closeCode !== null) clearInterval(check);
      }, 2);
    });
  }

  private async onMessage(message: Message): Promise<void> {
    this.received.push(message);
    switch (message.t) {
      case 'challenge': {
        const hello: Record<string, unknown> = {
          node_id: this.nodeId,
          community: this.community.communityId,
          display_name: this.options.displayName ?? 'test browser',
          profile: 'spark',
          nonce: message.nonce,
          timestamp: rfc3339(Date.now())
        };
        if (this.credential) hello.invite = this.credential;
        this.ws.send(JSON.stringify({ t: 'hello', hello: await signPayload(hello, this.options.keyPair) }));
        return;
      }
      case 'welcome':
        for (const peer of message.peers as { node_id: string }[]) this.linkTo(peer.node_id);
        return;
      case 'peer-joined':
        this.linkTo(message.peer.node_id);
        return;
      case 'peer-left':
        this.links.get(message.node_id)?.close();
        this.links.delete(message.node_id);
        return;
      case 'relay':
        this.linkTo(message.from).deliver(message.bin === true ? base64Decode(message.frame) : message.frame);
        return;
    }
  }

  private linkTo(nodeId: string): SocketLink {
    let link = this.links.get(nodeId);
    if (!link || link.closed) {
      link = new SocketLink(`socket-relay-${++this.linkCounter}`, nodeId, this.ws);
      this.links.set(nodeId, link);
      this.node.addLink(link);
    }
    return link;
  }
}

/**
 * The node worker (DESIGN §1): runs the whole core — identity, peers, transport, capabilities, timers — off the
 * UI thread, and exposes the narrow client API of src/lib/client/api.ts through comlink.
 */
import * as Comlink from 'comlink';
import { IdbDeviceStore } from '../src/lib/adapters/browser/idb-device-store.js';
import { PortLink, type HostToWorker, type WorkerToHost } from '../src/lib/adapters/browser/port-link.js';
import type { IdentityView, NodeWorkerApi, PeerView } from '../src/lib/client/api.js';
import { rfc3339, signPayload, systemClock, type KeyPair } from '../src/lib/core/index.js';
import { createNode, type HearthNode } from '../src/lib/node/index.js';
import { systemScheduler } from '../src/lib/transport/index.js';

const PEER_LIST_COALESCE_MS = 100;

let store: IdbDeviceStore;
let keyPair: KeyPair;
let node: HearthNode;
let communityId = '';
let createdKey = false;
const links = new Map<string, PortLink>();

function defaultDisplayName(kp: KeyPair): string {
  return `Neighbour ${kp.shortId.slice('ed25519:'.length, 'ed25519:'.length + 4)}`;
}

function identityView(): IdentityView {
  const id = node.identity();
  return { ...id, keyEngine: keyPair.engine, createdKey };
}

function peerViews(): PeerView[] {
  return node.peers().map((p) => ({
    nodeId: p.nodeId,
    shortId: p.shortId,
    displayName: p.displayName,
    profile: p.profile,
    path: p.path,
    rttMs: p.rttMs,
    lastSeenMs: p.lastSeenMs
  }));
}

const api: NodeWorkerApi = {
  async start(options) {
    if (node) return identityView();
    communityId = options.communityId;
    store = await IdbDeviceStore.open();
    const loaded = await store.loadOrCreateKey();
    keyPair = loaded.keyPair;
    createdKey = loaded.created;
    const settings = await store.settings();
    node = createNode({
      keyPair,
      clock: systemClock,
      scheduler: systemScheduler,
      displayName: settings.displayName ?? defaultDisplayName(keyPair),
      profile: 'spark',
      communityId
    });
    return identityView();
  },

  async identity() {
    return identityView();
  },

  async setDisplayName(name) {
    const trimmed = String(name).trim();
    // The node validates (bad_request with a message the UI shows); only a name it accepted is stored.
    await node.setDisplayName(trimmed);
    await store.saveSettings({ ...(await store.settings()), displayName: trimmed });
    return identityView();
  },

  async peers() {
    return peerViews();
  },

  async subscribePeers(listener) {
    // Coalesce: every ping updates an RTT, and the UI needs the list a few times a second, not per frame.
    let pending: ReturnType<typeof setTimeout> | null = null;
    node.subscribe(() => {
      pending ??= setTimeout(() => {
        pending = null;
        listener(peerViews());
      }, PEER_LIST_COALESCE_MS);
    });
    listener(peerViews());
  },

  async ping(nodeId, payload) {
    return node.ping(nodeId, payload);
  },

  async pingStream(nodeId, count) {
    return node.pingStream(nodeId, count);
  },

  async stats() {
    return node.stats();
  },

  async attachHost(port) {
    const post = (message: WorkerToHost, transfer: Transferable[] = []) => port.postMessage(message, transfer);
    port.onmessage = (event: MessageEvent<HostToWorker>) => {
      const message = event.data;
      if (message.type === 'link-open') {
        const link = new PortLink(message.linkId, message.remoteNodeId, message.path, post);
        links.set(message.linkId, link);
        link.onClose(() => links.delete(message.linkId));
        node.addLink(link);
      } else if (message.type === 'link-frame') {
        links.get(message.linkId)?.deliver(message.frame);
      } else if (message.type === 'link-close') {
        links.get(message.linkId)?.markClosed();
      }
    };
  },

  async signHello(nonce) {
    const id = node.identity();
    return signPayload(
      { node_id: keyPair.nodeId, community: communityId, display_name: id.displayName, profile: id.profile, nonce, timestamp: rfc3339(Date.now()) },
      keyPair
    );
  },

  async signSignal(to, data) {
    // Round-trip through JSON: WebRTC signal objects may hold undefined fields, which canonical JSON refuses.
    const plain = JSON.parse(JSON.stringify(data ?? null)) as unknown;
    return signPayload({ from: keyPair.nodeId, to, timestamp: rfc3339(Date.now()), data: plain }, keyPair);
  }
};

Comlink.expose(api);

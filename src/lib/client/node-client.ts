/**
 * The UI's entry to the node. One node per browser profile (DESIGN §1): the tab that holds the Web Lock runs the
 * node worker and the peer connections; any other tab of the profile waits and shows that the node is open
 * elsewhere, taking over when that tab closes. The UI sees only Svelte stores and the NodeWorkerApi.
 */
import * as Comlink from 'comlink';
import { writable, type Readable } from 'svelte/store';
import type { ActionOutcome, BusView, CommunityState, IdentityView, NodeWorkerApi, PeerView } from './api.js';
import { MeshHost } from './mesh-host.js';
import type { BridgeStatus } from '../adapters/browser/bridge-socket.js';

const NODE_LOCK = 'hearthnet-node';

export type NodeRole = 'starting' | 'leader' | 'follower' | 'unsupported';

export interface NodeState {
  role: NodeRole;
  identity: IdentityView | null;
  peers: PeerView[];
  /** Capabilities on the mesh and recent calls; null until the node runs in this tab. */
  bus: BusView | null;
  /** The community this device is in (or joining); null until the node runs in this tab. */
  community: CommunityState | null;
  bridge: BridgeStatus;
  bridgeUrl: string;
  /** The person disconnected this device from the mesh (Mesh page): no bridge, no peers, everything local goes on. */
  disconnected: boolean;
  error: string | null;
}

export interface NodeClient {
  state: Readable<NodeState>;
  api(): Comlink.Remote<NodeWorkerApi> | null;
  setDisplayName(name: string): Promise<void>;
  /**
   * Runs an action that may move the node into another community (create, join, leave); when it did, the page
   * reloads so the bridge connection and every view start over in the new community.
   */
  /** Cuts this device off the mesh (every peer link and the bridge) or reconnects it; the node keeps running. */
  setDisconnected(disconnected: boolean): void;
  switchCommunity(action: (api: Comlink.Remote<NodeWorkerApi>) => Promise<ActionOutcome>, then?: string): Promise<ActionOutcome>;
}

/** The bridge that served the app, unless `?bridge=wss://…` (remembered) says otherwise. */
export function bridgeUrlFor(location: Location): string {
  const fromQuery = new URLSearchParams(location.search).get('bridge');
  if (fromQuery) localStorage.setItem('hearthnet.bridge', fromQuery);
  const chosen = fromQuery ?? localStorage.getItem('hearthnet.bridge');
  if (chosen) return chosen;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/signal`;
}

/** Created once by the root layout and shared with pages through Svelte context (see context.ts). */
export function createNodeClient(): NodeClient {
  const bridgeUrl = bridgeUrlFor(window.location);
  const state = writable<NodeState>({ role: 'starting', identity: null, peers: [], bus: null, community: null, bridge: 'closed', bridgeUrl, disconnected: false, error: null });
  let remote: Comlink.Remote<NodeWorkerApi> | null = null;
  let mesh: MeshHost | null = null;
  const patch = (partial: Partial<NodeState>) => state.update((s) => ({ ...s, ...partial }));

  async function runNode(): Promise<void> {
    const worker = new Worker(new URL('../../../workers/node.worker.ts', import.meta.url), { type: 'module', name: 'hearthnet-node' });
    remote = Comlink.wrap<NodeWorkerApi>(worker);
    // For the devtools console and benchmarks: `await hearthnet.api().peers()`.
    (globalThis as { hearthnet?: unknown }).hearthnet = { api: () => remote };
    const identity = await remote.start({ bridgeUrl });
    patch({ role: 'leader', identity });
    await remote.subscribePeers(Comlink.proxy((peers: PeerView[]) => patch({ peers })));
    await remote.subscribeBus(Comlink.proxy((bus: BusView) => patch({ bus })));
    await remote.subscribeCommunity(Comlink.proxy((community: CommunityState) => patch({ community })));
    const channel = new MessageChannel();
    await remote.attachHost(Comlink.transfer(channel.port2, [channel.port2]));
    const api = remote;
    const host = new MeshHost({
      bridgeUrl,
      nodeId: identity.nodeId,
      linkPort: channel.port1,
      signer: { signHello: (nonce) => api.signHello(nonce), signSignal: (to, data) => api.signSignal(to, data) },
      onBridgeStatus: (bridge) => patch({ bridge })
    });
    mesh = host;
    host.start();
    // Closing the tab closes its data channels and bridge socket at once, so neighbours see it leave at once.
    window.addEventListener('pagehide', () => host.stop());
    window.addEventListener('pageshow', (event) => {
      if (event.persisted) host.start(); // back from the back-forward cache
    });
  }

  if (!('locks' in navigator) || typeof Worker === 'undefined') {
    patch({ role: 'unsupported', error: 'This browser lacks Web Locks or module workers; HearthNet needs a current browser.' });
  } else {
    // The lock is held for the tab's lifetime (the callback never resolves); a waiting tab gets it when we close.
    void navigator.locks.request(NODE_LOCK, { ifAvailable: true }, async (lock) => {
      if (!lock) {
        patch({ role: 'follower' });
        void navigator.locks.request(NODE_LOCK, () => runNode().catch(fail).then(() => new Promise<void>(() => {})));
        return;
      }
      await runNode().catch(fail);
      return new Promise<void>(() => {});
    });
  }

  function fail(err: unknown): void {
    patch({ error: err instanceof Error ? err.message : String(err) });
  }

  return {
    state,
    api: () => remote,
    async setDisplayName(name: string) {
      if (!remote) throw new Error('The node is not running in this tab.');
      const identity = await remote.setDisplayName(name);
      patch({ identity });
    },
    setDisconnected(disconnected: boolean) {
      if (!mesh) return;
      if (disconnected) mesh.stop();
      else mesh.start();
      patch({ disconnected });
    },
    async switchCommunity(action, then) {
      if (!remote) return { ok: false, error: { error: 'partition', message: 'The node is not running in this tab.' } };
      const outcome = await action(remote);
      if (outcome.ok && outcome.reload) {
        // The lock and the worker go with the page; the next page load starts the node in its new community.
        if (then) window.location.assign(then);
        else window.location.reload();
      }
      return outcome;
    }
  };
}

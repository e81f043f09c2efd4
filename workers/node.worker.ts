/**
 * The node worker (DESIGN §1): runs the whole core — identity, peers, transport, capabilities, timers — off the
 * UI thread, and exposes the narrow client API of src/lib/client/api.ts through comlink.
 */
import * as Comlink from 'comlink';
import { IdbDeviceStore } from '../src/lib/adapters/browser/idb-device-store.js';
import { ChannelLink, FrameChannel } from '../src/lib/adapters/browser/channel-link.js';
import { PortLink, type HostToWorker, type WorkerToHost } from '../src/lib/adapters/browser/port-link.js';
import {
  BUS_VIEW_CALLS,
  type BusView,
  type CallOutcome,
  type CallRequest,
  type IdentityView,
  type NodeWorkerApi,
  type PeerView
} from '../src/lib/client/api.js';
import { HearthError, isCid, rfc3339, signPayload, systemClock, ulidGenerator, type KeyPair } from '../src/lib/core/index.js';
import { createNode, echoCapability, type HearthNode } from '../src/lib/node/index.js';
import { OPEN_COMMUNITY_ID, type ActionOutcome } from '../src/lib/client/api.js';
import { CommunityHost, httpOriginOf, type CommunitySetting } from './community-host.js';
import { EmbedService } from '../src/lib/embed/index.js';
import { LlmHost } from './llm-host.js';
import { LibraryHost } from './library-host.js';
import { DeviceModel } from './device-model.js';
import { deviceModelPorts } from './device-model-ports.js';
import { embeddingModelPorts, embeddingModelState } from './embedding-model-ports.js';
import type { Embedder } from '../src/lib/embed/embedder.js';
import { systemScheduler, type StreamEvent } from '../src/lib/transport/index.js';

const PEER_LIST_COALESCE_MS = 100;
/** The Mesh page's capability and call lists refresh at most this often. */
const BUS_VIEW_COALESCE_MS = 150;
/** The Files and Library pages refresh at most this often (download progress included). */
const LIBRARY_VIEW_COALESCE_MS = 100;

let store: IdbDeviceStore;
let keyPair: KeyPair;
let node: HearthNode;
let communityId = '';
let host: CommunityHost;
let llm: LlmHost;
let deviceModel: DeviceModel;
let embed: EmbedService;
/** The sentence-embedding model this browser runs (from the bridge's mirror), offered as embed.text. */
let embeddingModel: DeviceModel<Embedder>;
const embeddingModelListeners = new Map<number, () => void>();
let lastEmbeddingModelListener = 0;
let library: LibraryHost;
/** Files and Library pages listening, by subscription id (a page unsubscribes when it is left). */
const libraryListeners = new Map<number, () => void>();
let lastLibraryListener = 0;
/** The Ask pages listening to the device model (a page visited twice subscribes twice, and unsubscribes on leaving). */
const deviceModelListeners = new Map<number, () => void>();
let lastDeviceModelListener = 0;
let createdKey = false;
const links = new Map<string, PortLink | ChannelLink>();
/** WebRTC frame channels transferred here by the main thread, by channelId, until a link takes them. */
const frameChannels = new Map<string, FrameChannel>();
let withdrawEcho: (() => void) | null = null;
/** Trace ids, which the bus also signs as the first attempt's request id. */
const nextTraceId = ulidGenerator(systemClock);
/** Calls the page may cancel, by the id it gave them. */
const cancellable = new Map<string, AbortController>();

/** An abort signal for a call the page named; forgotten when the call ends. */
function signalFor(callId: string | undefined): { signal?: AbortSignal; release(): void } {
  if (!callId) return { release() {} };
  const controller = new AbortController();
  cancellable.set(callId, controller);
  return { signal: controller.signal, release: () => cancellable.delete(callId) };
}

function nameOf(nodeId: string): { name: string; shortId: string } {
  if (nodeId === keyPair.nodeId) return { name: `${node.identity().displayName} (this node)`, shortId: keyPair.shortId };
  const peer = node.peers().find((p) => p.nodeId === nodeId);
  return peer ? { name: peer.displayName, shortId: peer.shortId } : { name: nodeId.slice(0, 16) + '…', shortId: '' };
}

function busView(): BusView {
  const now = Date.now();
  const capabilities = node.bus
    .capabilities()
    .map((c) => {
      const { name, shortId } = nameOf(c.nodeId);
      return { ...c, nodeName: name, nodeShortId: shortId, quarantined: c.quarantinedUntil > now };
    })
    .sort((a, b) => a.name.localeCompare(b.name) || Number(b.isLocal) - Number(a.isLocal) || a.nodeName.localeCompare(b.nodeName));
  const calls = node.bus.recentTraces(BUS_VIEW_CALLS).map((t) => ({ ...t, fromName: nameOf(t.from_node).name, toName: t.to_node ? nameOf(t.to_node).name : '—' }));
  return { capabilities, calls, callsTotal: node.bus.traces.total, echoOffered: withdrawEcho !== null };
}

/**
 * The trace of the attempt that answered: the newest outbound trace of this call. A failover's later attempts
 * have their own ids, so look for the first attempt's id and anything we sent after it.
 */
function lastTraceOf(traceId: string) {
  const recent = node.bus.recentTraces(200);
  const first = recent.findIndex((t) => t.trace_id === traceId && t.direction === 'out');
  if (first < 0) return null;
  const capability = recent[first].capability;
  return recent.slice(0, first + 1).find((t) => t.direction === 'out' && t.capability === capability) ?? recent[first];
}

function offerEcho(offered: boolean): void {
  if (offered && !withdrawEcho) withdrawEcho = node.register(echoCapability(systemClock, systemScheduler, keyPair.nodeId));
  if (!offered && withdrawEcho) {
    withdrawEcho();
    withdrawEcho = null;
  }
}

async function saveCommunity(community: CommunitySetting | undefined): Promise<void> {
  const settings = await store.settings();
  await store.saveSettings({ ...settings, community });
}

/** Runs a community action; errors travel as data. `reload`: the node must restart into another community. */
async function outcome(action: () => Promise<void>, reload = false): Promise<ActionOutcome> {
  try {
    await action();
    return reload ? { ok: true, reload: true } : { ok: true };
  } catch (err) {
    return { ok: false, error: HearthError.from(err).toWire() };
  }
}

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

/** Calls `send` now and whenever the library changes (coalesced); returns the id to unsubscribe with. */
function subscribeLibraryHost(send: () => unknown): number {
  const id = ++lastLibraryListener;
  let pending: ReturnType<typeof setTimeout> | null = null;
  const changed = () => {
    pending ??= setTimeout(() => {
      pending = null;
      void Promise.resolve(send()).catch(() => unsubscribeLibraryHost(id)); // the page is gone
    }, LIBRARY_VIEW_COALESCE_MS);
  };
  const unsubscribe = library.subscribe(changed);
  libraryListeners.set(id, () => {
    unsubscribe();
    if (pending) clearTimeout(pending);
  });
  void Promise.resolve(send()).catch(() => unsubscribeLibraryHost(id));
  return id;
}

function unsubscribeLibraryHost(id: number): void {
  libraryListeners.get(id)?.();
  libraryListeners.delete(id);
}

/** Bytes from the page: a transferred Uint8Array, or an ArrayBuffer. Anything else is refused. */
function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new HearthError('bad_request', 'bytes must be a Uint8Array or an ArrayBuffer');
}

const api: NodeWorkerApi = {
  async start(options) {
    if (node) return identityView();
    store = await IdbDeviceStore.open();
    const loaded = await store.loadOrCreateKey();
    keyPair = loaded.keyPair;
    createdKey = loaded.created;
    const settings = await store.settings();
    host = await CommunityHost.open(settings.community, keyPair, options.bridgeUrl, saveCommunity);
    communityId = host.communityIdOr(OPEN_COMMUNITY_ID);
    node = createNode({
      keyPair,
      clock: systemClock,
      scheduler: systemScheduler,
      displayName: settings.displayName ?? defaultDisplayName(keyPair),
      profile: 'spark',
      communityId,
      membership: host.community ?? undefined,
      log: (level, message, fields) => {
        if (level === 'warn' || level === 'error') console[level](`[hearthnet] ${message}`, fields ?? {});
      }
    });
    offerEcho(settings.echoOffered === true);
    // embed.text with the zero-download model: this device can index and search a library with no model at all.
    embed = new EmbedService({ register: (r) => node.register(r), clock: systemClock, selfId: keyPair.nodeId });
    await embed.start();
    await host.attach(node, async (texts) => embed.embedLocal(texts));
    llm = new LlmHost(node, async (llmServerUrl) => store.saveSettings({ ...(await store.settings()), llmServerUrl }));
    if (settings.llmServerUrl) void llm.set(settings.llmServerUrl, false);
    library = await LibraryHost.open({ node, host, embed, selfId: keyPair.nodeId, nameOf: (id) => nameOf(id).name });
    deviceModel = new DeviceModel(
      deviceModelPorts({
        // The model mirror is on the bridge's http(s) side; an app served by the bridge is the same origin.
        bridgeUrl: httpOriginOf(options.bridgeUrl) ?? self.location.origin,
        offer: (engine) => llm.setDeviceEngine(engine),
        save: async (choice) => store.saveSettings({ ...(await store.settings()), deviceModel: choice })
      })
    );
    void deviceModel.refresh().then(() => {
      if (settings.deviceModel) void deviceModel.restore(settings.deviceModel);
    });
    let offeredEmbedder: string | null = null;
    embeddingModel = new DeviceModel<Embedder>(
      embeddingModelPorts({
        bridgeUrl: httpOriginOf(options.bridgeUrl) ?? self.location.origin,
        offer: async (embedder) => {
          if (offeredEmbedder) embed.remove(offeredEmbedder);
          offeredEmbedder = null;
          if (embedder && (await embed.add(embedder))) offeredEmbedder = embedder.model;
        },
        save: async (choice) => store.saveSettings({ ...(await store.settings()), embeddingModel: choice?.id ?? null })
      })
    );
    void embeddingModel.refresh().then(() => {
      if (settings.embeddingModel) void embeddingModel.restore({ backend: 'transformers', id: settings.embeddingModel, allowInternet: false });
    });
    return identityView();
  },

  async community() {
    return host.state();
  },

  async subscribeCommunity(listener) {
    host.subscribe(() => listener(host.state()));
    listener(host.state());
  },

  createCommunity: (fields) => outcome(() => host.create(String(fields.name ?? ''), node.identity().displayName, fields.policy), true),

  async createInvite(fields) {
    try {
      return { ok: true, invite: await host.createInvite(fields) };
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire() };
    }
  },

  async previewInvite(text) {
    try {
      return { ok: true, preview: (await CommunityHost.preview(String(text), keyPair.nodeId)).preview };
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire() };
    }
  },

  acceptInvite: (text) => outcome(() => host.accept(String(text)), true),
  leaveCommunity: () => outcome(() => host.leave(), true),
  promote: (nodeId, level) => outcome(() => host.promote(nodeId, level)),
  revoke: (nodeId, reason) => outcome(() => host.revoke(nodeId, reason)),
  demote: (nodeId, level) => outcome(() => host.demote(nodeId, level)),
  answerCosign: (id, approve) => outcome(async () => host.answerCosign(id, approve)),

  async communityManifest() {
    try {
      return { ok: true, ...(await host.manifest()) };
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire() };
    }
  },

  async llmSettings() {
    return llm.settings();
  },

  async setLlmServer(url) {
    return llm.set(typeof url === 'string' ? url : null);
  },

  async deviceModel() {
    return deviceModel.refresh();
  },

  async subscribeDeviceModel(listener) {
    const id = ++lastDeviceModelListener;
    deviceModelListeners.set(id, deviceModel.subscribe(listener));
    return id;
  },

  async unsubscribeDeviceModel(id) {
    deviceModelListeners.get(id)?.();
    deviceModelListeners.delete(id);
  },

  async loadDeviceModel(choice) {
    if (choice.backend !== 'webllm' && choice.backend !== 'transformers') {
      throw new HearthError('bad_request', `backend must be "webllm" or "transformers", not ${JSON.stringify(choice.backend)}`);
    }
    return deviceModel.load({ backend: choice.backend, id: String(choice.id), allowInternet: choice.allowInternet === true });
  },

  async unloadDeviceModel() {
    return deviceModel.unload();
  },

  async embeddingModel() {
    return embeddingModelState(await embeddingModel.refresh(), embed);
  },

  async subscribeEmbeddingModel(listener) {
    const id = ++lastEmbeddingModelListener;
    embeddingModelListeners.set(id, embeddingModel.subscribe((state) => listener(embeddingModelState(state, embed))));
    return id;
  },

  async unsubscribeEmbeddingModel(id) {
    embeddingModelListeners.get(id)?.();
    embeddingModelListeners.delete(id);
  },

  async loadEmbeddingModel(id) {
    return embeddingModelState(await embeddingModel.load({ backend: 'transformers', id: String(id), allowInternet: false }), embed);
  },

  async unloadEmbeddingModel() {
    return embeddingModelState(await embeddingModel.unload(), embed);
  },

  async files() {
    return library.files();
  },

  async subscribeFiles(listener) {
    return subscribeLibraryHost(() => library.files().then((state) => listener(state)));
  },

  async unsubscribeFiles(id) {
    unsubscribeLibraryHost(id);
  },

  async addFile(file) {
    try {
      const manifest = await library.library.addFile({ name: String(file.name ?? ''), mediaType: String(file.mediaType ?? ''), bytes: bytesOf(file.bytes) });
      return { ok: true, cid: manifest.cid };
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire() };
    }
  },

  async downloadFile(cid, name) {
    if (!isCid(cid)) return { ok: false, error: new HearthError('bad_request', 'not a file id (blake3:<64 hex>)').toWire() };
    // Resolves when the download ends; its progress and outcome reach the page through subscribeFiles.
    void library.library.download(cid, typeof name === 'string' ? name : '');
    return { ok: true };
  },

  async cancelDownload(cid) {
    library.library.cancel(String(cid));
  },

  async readFile(cid) {
    try {
      const bytes = await library.library.read(String(cid));
      const meta = library.library.meta(String(cid));
      return Comlink.transfer({ ok: true as const, bytes, name: meta?.name ?? '', mediaType: meta?.media_type ?? '' }, [bytes.buffer as ArrayBuffer]);
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire() };
    }
  },

  removeFile: (cid) => outcome(() => library.library.remove(String(cid))),

  async library() {
    return library.libraryState();
  },

  async subscribeLibrary(listener) {
    return subscribeLibraryHost(() => listener(library.libraryState()));
  },

  async unsubscribeLibrary(id) {
    unsubscribeLibraryHost(id);
  },

  async ingestDocument(doc) {
    try {
      const result = await library.ingest({ corpus: String(doc.corpus ?? ''), title: String(doc.title ?? ''), name: String(doc.name ?? ''), mediaType: String(doc.mediaType ?? ''), bytes: bytesOf(doc.bytes) });
      return { ok: true, ...result };
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire() };
    }
  },

  async deviceCard() {
    return host.deviceCard(node.identity().displayName);
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

  async busView() {
    return busView();
  },

  async subscribeBus(listener) {
    let pending: ReturnType<typeof setTimeout> | null = null;
    const changed = () => {
      pending ??= setTimeout(() => {
        pending = null;
        listener(busView());
      }, BUS_VIEW_COALESCE_MS);
    };
    node.bus.subscribeCapabilities(changed);
    node.bus.subscribeTraces(changed);
    node.subscribe(changed); // names, and health shown next to peers
    listener(busView());
  },

  async callCapability(request: CallRequest): Promise<CallOutcome> {
    const traceId = nextTraceId();
    try {
      const { result, trace } = await node.bus.invoke(request.capability, request.version, request.body, {
        node: request.node,
        timeoutMs: request.timeoutMs,
        sessionId: request.sessionId,
        traceId
      });
      return { ok: true, result, trace };
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire(), trace: lastTraceOf(traceId) };
    }
  },

  async streamCapability(request: CallRequest, onEvent: (event: StreamEvent) => void): Promise<CallOutcome> {
    const traceId = nextTraceId();
    const cancel = signalFor(request.callId);
    let result: unknown = null;
    try {
      for await (const event of node.bus.stream(request.capability, request.version, request.body, { node: request.node, timeoutMs: request.timeoutMs, sessionId: request.sessionId, traceId, signal: cancel.signal })) {
        if (event.event === 'done') result = event.data;
        void onEvent(event);
      }
      return { ok: true, result, trace: lastTraceOf(traceId) };
    } catch (err) {
      // Stopped by the person: not a failure; what arrived stands.
      if (cancel.signal?.aborted) return { ok: true, result, trace: lastTraceOf(traceId) };
      return { ok: false, error: HearthError.from(err).toWire(), trace: lastTraceOf(traceId) };
    } finally {
      cancel.release();
      (onEvent as unknown as { [Comlink.releaseProxy]?: () => void })[Comlink.releaseProxy]?.();
    }
  },

  async cancelCall(callId) {
    cancellable.get(String(callId))?.abort(new Error('cancelled by the person who asked'));
  },

  async setEchoOffered(offered) {
    offerEcho(offered === true);
    await store.saveSettings({ ...(await store.settings()), echoOffered: withdrawEcho !== null });
    return withdrawEcho !== null;
  },

  async metrics() {
    return node.bus.prometheus();
  },

  async attachHost(port) {
    const post = (message: WorkerToHost, transfer: Transferable[] = []) => port.postMessage(message, transfer);
    port.onmessage = (event: MessageEvent<HostToWorker>) => {
      const message = event.data;
      if (message.type === 'link-frame') {
        const link = links.get(message.linkId);
        if (link instanceof PortLink) link.deliver(message.frame);
      } else if (message.type === 'link-open') {
        const carrier = message.channelId === undefined ? undefined : frameChannels.get(message.channelId);
        if (message.channelId !== undefined) frameChannels.delete(message.channelId);
        if (message.channelId !== undefined && !carrier) {
          // The channel already closed: the link is over before it began.
          post({ type: 'link-close', linkId: message.linkId });
          return;
        }
        const link = carrier
          ? new ChannelLink(message.linkId, message.remoteNodeId, message.path, carrier, post)
          : new PortLink(message.linkId, message.remoteNodeId, message.path, post);
        links.set(message.linkId, link);
        link.onClose(() => links.delete(message.linkId));
        node.addLink(link);
        if (link instanceof ChannelLink) link.start();
      } else if (message.type === 'link-close') {
        links.get(message.linkId)?.markClosed();
      } else if (message.type === 'link-channel') {
        const { channelId } = message;
        const carrier: FrameChannel = new FrameChannel(message.channel, () => {
          if (frameChannels.get(channelId) === carrier) frameChannels.delete(channelId);
        });
        frameChannels.set(channelId, carrier);
      } else if (message.type === 'channel-discard') {
        frameChannels.get(message.channelId)?.close();
        frameChannels.delete(message.channelId);
      }
    };
  },

  async signHello(nonce) {
    const id = node.identity();
    return signPayload(
      {
        node_id: keyPair.nodeId,
        community: communityId,
        display_name: id.displayName,
        profile: id.profile,
        nonce,
        timestamp: rfc3339(Date.now()),
        // A newcomer shows the bridge the invite it holds (DESIGN §3.12); members need nothing more.
        ...(host.helloCredential() ? { invite: host.helloCredential() } : {})
      },
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

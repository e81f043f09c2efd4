/**
 * One node's part in the shared library (issue 6): its blob store with the `file.*` capabilities, its corpora with
 * the `rag.*` capabilities, downloads from whoever holds a file, and the announcements that let members know who
 * holds what (`file.cid.advertised` / `unpinned` and `rag.document.ingested` in the community log; `file.advertise`
 * calls to linked peers outside a community). The same composition runs in a browser's node worker (Dexie stores)
 * and in the bridge (disk stores); the environment supplies the stores and the community.
 */
import { HearthError, type BlobManifest, type Clock } from '../core/index.js';
import type { CapabilityBus, CapabilityRegistration } from '../bus/index.js';
import { BlobStore, busChunkSource, fetchBlob, fileCapabilities, type ChunkStore, type FetchProgress, type FileDescription } from '../blobs/index.js';
import { RagService, type CorpusStore, type IngestedEvent } from '../rag/index.js';
import type { EmbedFn } from '../rag/ports.js';
import type { EventEnvelope, EventType } from '../events/index.js';
import type { LibraryView } from './library-view.js';

/** What this node remembers about a file it added or downloaded: blobs carry no name. */
export interface FileMeta {
  cid: string;
  name: string;
  media_type: string;
  size_bytes: number;
  added_at: number;
}

export interface FileMetaStore {
  all(): Promise<FileMeta[]>;
  put(meta: FileMeta): Promise<void>;
  delete(cid: string): Promise<void>;
}

/** The community as the library needs it; null outside one (the open room has no log). */
export interface LibraryCommunity {
  /** Whether this node may write to the log now (a member, not joining or revoked). */
  canWrite(): boolean;
  append(type: EventType, data: Record<string, unknown>): Promise<EventEnvelope>;
  view(): LibraryView;
}

export interface LibraryNodeOptions {
  selfId: string;
  clock: Clock;
  bus: CapabilityBus;
  register(registration: CapabilityRegistration): () => void;
  chunks: ChunkStore;
  corpora: CorpusStore;
  files: FileMetaStore;
  embed: EmbedFn | null;
  community: () => LibraryCommunity | null;
  /** NodeIDs linked to this node now. */
  onlinePeers(): string[];
  /** Bytes of chunks this node keeps before a gc (file.put refuses past it). */
  capacityBytes?: number;
  /**
   * Index every document a member announces into the same corpus here too (the bridge does): the library stays
   * searchable when the phone that ingested it is gone, and a phone that cannot index asks the bridge.
   */
  replicate?: boolean;
  log?: (level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

export interface Transfer {
  cid: string;
  name: string;
  phase: 'fetching' | 'done' | 'failed' | 'cancelled';
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
  /** NodeIDs chunks came from. */
  sources: string[];
  error: HearthError | null;
  startedAt: number;
}

/** Speed is taken over this window, so a stall shows as a falling number rather than the average since start. */
const SPEED_WINDOW_MS = 3_000;
/** Listeners hear about progress at most this often. */
const PROGRESS_EVERY_MS = 100;
const DEFAULT_CAPACITY_BYTES = 2 * 1024 ** 3;
/**
 * M07 §5.4: past this share of the capacity, unpinned chunks (files removed here, leftovers of fetches) are collected,
 * least recently used first, down to the lower share, so the store does not collect at every write.
 */
export const GC_HIGH_WATER = 0.8;
export const GC_LOW_WATER = 0.7;
/** Ended downloads shown (and kept in memory); the oldest ended ones go first. Running ones are never dropped. */
const MAX_ENDED_TRANSFERS = 50;
/** A document that could not be replicated (no holder linked) is tried again after this long, at the next change. */
const REPLICATION_RETRY_MS = 30_000;
/**
 * Bounds on what `file.advertise` callers make this node remember (any linked member may call it, 10 times a second,
 * 1,000 CIDs a call): CIDs kept per peer (its oldest advertisement goes first) and peers kept (the one that
 * advertised least recently goes first). Without them a peer grows `advertised` and `described` without end.
 */
export const MAX_ADVERTISED_CIDS_PER_PEER = 1_000;
export const MAX_ADVERTISING_PEERS = 32;

type Running = Transfer & { controller: AbortController; samples: { at: number; bytes: number }[] };

export class LibraryNode {
  readonly rag: RagService;
  private readonly metas = new Map<string, FileMeta>();
  /**
   * CIDs each peer told us (by `file.advertise`) it holds; for the open room, where no log says so. Both maps are in
   * least-recently-advertised order and bounded (MAX_ADVERTISING_PEERS, MAX_ADVERTISED_CIDS_PER_PEER).
   */
  private readonly advertised = new Map<string, Set<string>>();
  /**
   * What peers said about files they advertised (first description of a CID wins, like the log's L2). Only for CIDs
   * some peer in `advertised` still holds, so it is bounded with it.
   */
  private readonly described = new Map<string, FileDescription>();
  private readonly transfers = new Map<string, Running>();
  private stopped = false;
  private readonly listeners = new Set<() => void>();
  private withdraw: (() => void)[] = [];
  private lastNotified = 0;
  /** Documents being replicated or given up on this run (a failed one is tried again when its holder is linked). */
  private readonly replicating = new Set<string>();
  private replicationRunning = false;
  private notifyTimer: ReturnType<typeof setTimeout> | null = null;

  private constructor(
    readonly blobs: BlobStore,
    private readonly options: LibraryNodeOptions
  ) {
    this.rag = new RagService({
      register: options.register,
      clock: options.clock,
      selfId: options.selfId,
      blobs: { read: (cid, signal) => this.readForIngest(cid, signal) },
      embed: options.embed,
      store: options.corpora,
      announce: (event) => this.announceIngest(event)
    });
  }

  static async open(options: LibraryNodeOptions): Promise<LibraryNode> {
    const library = new LibraryNode(await BlobStore.open(options.chunks), options);
    for (const meta of await options.files.all()) library.metas.set(meta.cid, meta);
    const capabilities = fileCapabilities({
      store: library.blobs,
      clock: options.clock,
      selfId: options.selfId,
      bus: options.bus,
      capacityBytes: options.capacityBytes ?? DEFAULT_CAPACITY_BYTES,
      onAdvertise: (from, cids, described) => library.recordAdvertised(from, cids, described)
    });
    library.withdraw = capabilities.map((registration) => options.register(registration));
    try {
      await library.rag.start();
    } catch (err) {
      // The caller never gets the library to stop: the file.* capabilities must not stay on the bus without it.
      library.stop();
      throw err;
    }
    return library;
  }

  stop(): void {
    this.stopped = true;
    for (const withdraw of this.withdraw) withdraw();
    this.withdraw = [];
    this.rag.stop();
    for (const transfer of this.transfers.values()) transfer.controller.abort(new HearthError('partition', 'the node stopped'));
    // A pending progress notification must not fire into a stopped node (nor keep a test or a bridge process alive).
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    this.notifyTimer = null;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Something the Files or Library page shows changed (the community view, peers): tell listeners. */
  changed(): void {
    if (this.stopped) return;
    this.notify(true);
    if (this.options.replicate) void this.replicateAnnounced();
  }

  /** One document at a time: fetch it from whoever holds it, then ingest it here (announced as held here too). */
  private async replicateAnnounced(): Promise<void> {
    if (this.replicationRunning) return;
    this.replicationRunning = true;
    try {
      // Stopped: the rag.ingest capability is gone, and every remaining document would fail and arm a retry timer.
      while (!this.stopped) {
        const docs = this.options.community()?.view().corpusDocuments() ?? [];
        const next = docs.find((d) => d.holder !== this.options.selfId && !this.rag.holds(d.corpus, d.doc_cid) && !this.replicating.has(`${d.corpus}\n${d.doc_cid}`));
        if (!next) return;
        const key = `${next.corpus}\n${next.doc_cid}`;
        this.replicating.add(key);
        try {
          await this.options.bus.call('rag.ingest', '1.0', { params: { corpus: next.corpus }, input: { doc_cid: next.doc_cid, title: next.title } }, { node: this.options.selfId, timeoutMs: 600_000 });
          this.options.log?.('info', 'replicated a library document', { corpus: next.corpus, doc: next.doc_cid });
        } catch (err) {
          this.options.log?.('warn', 'could not replicate a library document yet', { corpus: next.corpus, doc: next.doc_cid, error: HearthError.from(err).message });
          // Tried again once a peer links (the holder may come back).
          const timer = setTimeout(() => this.replicating.delete(key), REPLICATION_RETRY_MS);
          (timer as { unref?: () => void }).unref?.(); // never keeps a stopping bridge alive
        }
      }
    } finally {
      this.replicationRunning = false;
    }
  }

  meta(cid: string): FileMeta | undefined {
    return this.metas.get(cid);
  }

  localMetas(): FileMeta[] {
    return [...this.metas.values()];
  }

  transferList(): Transfer[] {
    return [...this.transfers.values()].map(snapshotOf);
  }

  /**
   * Collects unpinned chunks once the store is past GC_HIGH_WATER of its capacity, down to GC_LOW_WATER. Pinned
   * blobs (files added or downloaded here, downloads in progress) are never collected. Returns the bytes freed.
   */
  async collectGarbage(): Promise<number> {
    const capacity = this.options.capacityBytes ?? DEFAULT_CAPACITY_BYTES;
    if ((await this.blobs.chunks.bytesUsed()) <= capacity * GC_HIGH_WATER) return 0;
    const { bytesFreed, deleted } = await this.blobs.chunks.gc(Math.floor(capacity * GC_LOW_WATER));
    this.options.log?.('info', 'collected unpinned chunks', { chunks: deleted.length, bytes: bytesFreed });
    return bytesFreed;
  }

  /** Stores, pins, remembers and announces a file. */
  async addFile(file: { name: string; mediaType: string; bytes: Uint8Array }): Promise<BlobManifest> {
    await this.collectGarbage();
    const manifest = await this.blobs.add(file.bytes, { pin: true });
    await this.remember({ cid: manifest.cid, name: file.name, media_type: file.mediaType, size_bytes: manifest.size_bytes, added_at: this.options.clock.now() });
    await this.announceHeld(manifest.cid);
    return manifest;
  }

  /** Chunks held of a blob whose manifest is here: `null` when the manifest itself is not. */
  async localState(cid: string): Promise<{ held: number; total: number } | null> {
    const manifest = await this.blobs.manifest(cid).catch(() => undefined);
    if (!manifest) return null;
    const missing = await this.blobs.missingChunks(manifest);
    return { held: manifest.chunks.length - missing.length, total: manifest.chunks.length };
  }

  /** Who holds `cid` by what they announced (log and `file.advertise`), this node left out. */
  holdersOf(cid: string): string[] {
    const shared = this.options.community()?.view().sharedFile(cid);
    const holders = new Set(shared?.holders ?? []);
    // A file the log knows is the log's to say: a member that removed it wrote file.cid.unpinned, but nothing takes
    // back the file.advertise call it made when it added it, which would list it as a holder here for good.
    if (!shared) for (const [peer, cids] of this.advertised) if (cids.has(cid)) holders.add(peer);
    holders.delete(this.options.selfId);
    return [...holders];
  }

  /**
   * Downloads a blob from every linked holder at once (from every linked peer when nobody announced it), verifying
   * each chunk; a second call while one runs returns the running one. Resolves when it ends; never throws (the
   * transfer records the error).
   */
  async download(cid: string, name = ''): Promise<Transfer> {
    const running = this.transfers.get(cid);
    if (running?.phase === 'fetching') return this.waitFor(running);
    const online = new Set(this.options.onlinePeers());
    const announced = this.holdersOf(cid).filter((peer) => online.has(peer));
    const candidates = announced.length > 0 ? announced : [...online];
    const transfer: Running = {
      cid,
      // In the open room the name is only what the holder said in file.advertise: kept, so the file is not nameless here.
      name: name || this.metas.get(cid)?.name || this.options.community()?.view().sharedFile(cid)?.name || this.described.get(cid)?.name || '',
      phase: 'fetching',
      bytesDone: 0,
      bytesTotal: this.options.community()?.view().sharedFile(cid)?.size_bytes ?? 0,
      bytesPerSecond: 0,
      sources: [],
      error: null,
      startedAt: this.options.clock.now(),
      controller: new AbortController(),
      samples: []
    };
    this.transfers.set(cid, transfer);
    this.pruneTransfers();
    const record = transfer;
    try {
      this.notify(true);
      if (candidates.length === 0) throw new HearthError('not_found', 'no node in reach holds this file; it downloads when a holder is linked');
      await this.collectGarbage();
      const result = await fetchBlob(cid, {
        store: this.blobs,
        sources: candidates.map((peer) => busChunkSource(this.options.bus, peer)),
        signal: transfer.controller.signal,
        onProgress: (progress) => this.progress(record, progress)
      });
      record.phase = 'done';
      record.bytesDone = result.manifest.size_bytes;
      record.bytesTotal = result.manifest.size_bytes;
      // Once done, the speed shown is the whole download's average.
      record.bytesPerSecond = (result.bytesFetched * 1000) / Math.max(1, this.options.clock.now() - record.startedAt);
      const meta = this.metas.get(cid);
      await this.remember({ cid, name: record.name || meta?.name || '', media_type: meta?.media_type || this.options.community()?.view().sharedFile(cid)?.media_type || this.described.get(cid)?.media_type || '', size_bytes: result.manifest.size_bytes, added_at: this.options.clock.now() });
      // Removed (or cancelled) while the name was being saved: announcing it now would say we hold what we let go.
      transfer.controller.signal.throwIfAborted();
      await this.announceHeld(cid);
    } catch (err) {
      record.phase = transfer.controller.signal.aborted ? 'cancelled' : 'failed';
      record.error = HearthError.from(transfer.controller.signal.aborted ? transfer.controller.signal.reason : err);
    }
    this.notify(true);
    // This download's own record: by now remove() may have dropped it from `transfers`, or a new download replaced it.
    return snapshotOf(record);
  }

  cancel(cid: string): void {
    // No "cancelled" among the 13 codes: timeout (the caller stopped waiting), with the reason for whoever asks.
    this.transfers.get(cid)?.controller.abort(new HearthError('timeout', 'the download was cancelled', { extra: { reason: 'cancelled' } }));
  }

  async read(cid: string): Promise<Uint8Array> {
    if (!(await this.blobs.has(cid))) throw new HearthError('not_found', `this device does not hold all of ${cid}; download it first`);
    return this.blobs.readAll(cid);
  }

  /** Unpins and forgets a file here and says so; its chunks go at the next gc. */
  async remove(cid: string): Promise<void> {
    const running = this.transfers.get(cid);
    if (running?.phase === 'fetching') {
      this.cancel(cid);
      // fetchBlob pins the blob once its manifest is here: unpinning before the cancelled fetch has settled could
      // land before that pin, and the removed file would stay pinned (never collected) for good.
      await this.waitFor(running);
    }
    this.transfers.delete(cid);
    await this.blobs.unpin(cid);
    this.metas.delete(cid);
    await this.options.files.delete(cid);
    const community = this.options.community();
    if (community?.canWrite()) await community.append('file.cid.unpinned', { cid });
    await this.collectGarbage();
    this.notify(true);
  }

  /** Keeps the newest MAX_ENDED_TRANSFERS ended downloads (the bridge replicates documents for months). */
  private pruneTransfers(): void {
    const ended = [...this.transfers.values()].filter((t) => t.phase !== 'fetching').sort((a, b) => a.startedAt - b.startedAt);
    for (const transfer of ended.slice(0, Math.max(0, ended.length - MAX_ENDED_TRANSFERS))) this.transfers.delete(transfer.cid);
  }

  private async remember(meta: FileMeta): Promise<void> {
    this.metas.set(meta.cid, meta);
    await this.options.files.put(meta);
  }

  /** CIDs peers advertised to this node by call, with what they said of them. */
  advertisedFiles(): { cid: string; description: FileDescription | null }[] {
    const cids = new Set<string>();
    for (const held of this.advertised.values()) for (const cid of held) cids.add(cid);
    return [...cids].map((cid) => ({ cid, description: this.described.get(cid) ?? null }));
  }

  /**
   * Untrusted input from any linked member: kept within MAX_ADVERTISED_CIDS_PER_PEER per peer and
   * MAX_ADVERTISING_PEERS peers, oldest first out, so a flood of calls cannot grow memory (or the Files page) without end.
   */
  private recordAdvertised(from: string, cids: readonly string[], described: Readonly<Record<string, FileDescription>>): void {
    const held = this.advertised.get(from) ?? new Set<string>();
    this.advertised.delete(from); // re-inserted below: the map stays in least-recently-advertised order
    const forgotten: string[] = [];
    for (const cid of cids) {
      held.delete(cid); // re-added as the newest
      held.add(cid);
    }
    for (const cid of held) {
      if (held.size <= MAX_ADVERTISED_CIDS_PER_PEER) break;
      held.delete(cid);
      forgotten.push(cid);
    }
    this.advertised.set(from, held);
    for (const [peer, theirs] of this.advertised) {
      if (this.advertised.size <= MAX_ADVERTISING_PEERS) break;
      this.advertised.delete(peer);
      forgotten.push(...theirs);
    }
    for (const [cid, description] of Object.entries(described)) if (held.has(cid) && !this.described.has(cid)) this.described.set(cid, description);
    for (const cid of forgotten) if (!this.anyPeerAdvertised(cid)) this.described.delete(cid);
    this.notify(true);
  }

  private anyPeerAdvertised(cid: string): boolean {
    for (const held of this.advertised.values()) if (held.has(cid)) return true;
    return false;
  }

  /** The log when we are a member (every member learns it, now or at their next sync); linked peers either way. */
  private async announceHeld(cid: string): Promise<void> {
    const meta = this.metas.get(cid);
    const community = this.options.community();
    if (community?.canWrite() && !community.view().sharedFile(cid)?.holders.includes(this.options.selfId)) {
      await community.append('file.cid.advertised', { cid, size_bytes: meta?.size_bytes ?? 0, ...(meta?.name ? { name: meta.name } : {}), ...(meta?.media_type ? { media_type: meta.media_type } : {}) });
    }
    for (const peer of this.options.onlinePeers()) {
      const files = meta ? [{ cid, name: meta.name, media_type: meta.media_type, size_bytes: meta.size_bytes }] : [];
      void this.options.bus.call('file.advertise', '1.0', { params: {}, input: { cids: [cid], files } }, { node: peer }).catch((err: unknown) => {
        this.options.log?.('debug', 'file.advertise failed', { peer, error: HearthError.from(err).message });
      });
    }
    this.notify(true);
  }

  private async announceIngest(event: IngestedEvent): Promise<string | null> {
    const community = this.options.community();
    if (!community?.canWrite()) return null;
    return (await community.append('rag.document.ingested', { ...event })).event_id;
  }

  /** rag.ingest reads the document from this store, fetching it from its holders first when it is not here. */
  private async readForIngest(cid: string, signal: AbortSignal): Promise<Uint8Array | null> {
    if (!(await this.blobs.has(cid))) {
      const transfer = await this.download(cid);
      signal.throwIfAborted();
      if (transfer.phase !== 'done') return null;
    }
    return this.blobs.readAll(cid);
  }

  private progress(transfer: Transfer & { samples: { at: number; bytes: number }[] }, progress: FetchProgress): void {
    const now = this.options.clock.now();
    transfer.bytesDone = progress.bytesDone;
    transfer.bytesTotal = progress.bytesTotal;
    transfer.sources = Object.entries(progress.bySource)
      .filter(([, stats]) => stats.chunks > 0)
      .map(([id]) => id);
    transfer.samples.push({ at: now, bytes: progress.bytesDone });
    while (transfer.samples.length > 2 && now - transfer.samples[0].at > SPEED_WINDOW_MS) transfer.samples.shift();
    const first = transfer.samples[0];
    const span = now - first.at;
    transfer.bytesPerSecond = span > 0 ? ((progress.bytesDone - first.bytes) * 1000) / span : 0;
    this.notify(false);
  }

  /**
   * Resolves when this very download ends. Keyed on the record, not the CID: remove() drops the record from
   * `transfers`, and a waiter looking it up by CID would then wait forever.
   */
  private waitFor(record: Running): Promise<Transfer> {
    if (record.phase !== 'fetching') return Promise.resolve(snapshotOf(record));
    return new Promise((resolve) => {
      const unsubscribe = this.subscribe(() => {
        if (record.phase === 'fetching') return;
        unsubscribe();
        resolve(snapshotOf(record));
      });
    });
  }

  /** Progress is coalesced to PROGRESS_EVERY_MS; state changes (`urgent`) go out at once. */
  private notify(urgent: boolean): void {
    const now = Date.now();
    if (!urgent && now - this.lastNotified < PROGRESS_EVERY_MS) {
      this.notifyTimer ??= setTimeout(() => {
        this.notifyTimer = null;
        this.notify(true);
      }, PROGRESS_EVERY_MS);
      return;
    }
    this.lastNotified = now;
    for (const listener of [...this.listeners]) {
      // One failing listener must not keep the others (a download's waiters among them) from hearing of the change.
      try {
        listener();
      } catch (err) {
        this.options.log?.('warn', 'a library listener failed', { error: HearthError.from(err).message });
      }
    }
  }
}

function snapshotOf({ controller: _c, samples: _s, ...transfer }: Running): Transfer {
  return { ...transfer, sources: [...transfer.sources] };
}

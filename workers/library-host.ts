/**
 * The shared library in the node worker: a LibraryNode over this browser's IndexedDB, and the Files and Library
 * pages' views of it (names instead of NodeIDs, online holders, downloads, ingests started here).
 */
import { HearthError, systemClock, ulidGenerator } from '../src/lib/core/index.js';
import { DexieChunkStore } from '../src/lib/adapters/browser/dexie-chunk-store.js';
import { DexieLibraryStore } from '../src/lib/adapters/browser/dexie-library-store.js';
import type { CorpusView, FilesState, FileView, HolderView, IngestView, LibraryState, TransferView } from '../src/lib/client/api.js';
import type { EmbedService } from '../src/lib/embed/index.js';
import { LIBRARY_VIEW_NAME, LibraryNode, type LibraryCommunity, type LibraryView } from '../src/lib/library/index.js';
import type { HearthNode } from '../src/lib/node/index.js';
import type { CommunityHost } from './community-host.js';

export interface LibraryHostOptions {
  node: HearthNode;
  host: CommunityHost;
  embed: EmbedService;
  selfId: string;
  nameOf(nodeId: string): string;
}

const nextIngestId = ulidGenerator(systemClock);

export class LibraryHost {
  private readonly ingests = new Map<string, IngestView>();
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly library: LibraryNode,
    private readonly options: LibraryHostOptions
  ) {}

  static async open(options: LibraryHostOptions): Promise<LibraryHost> {
    const { node, host, embed, selfId } = options;
    const store = await DexieLibraryStore.open();
    const community = (): LibraryCommunity | null => {
      const open = host.community;
      if (!open) return null;
      return {
        canWrite: () => open.view.member(selfId) !== undefined && open.view.levelOf(selfId) !== 'revoked',
        append: (type, data) => open.append(type, data),
        view: () => open.engine.view(LIBRARY_VIEW_NAME) as LibraryView
      };
    };
    const library = await LibraryNode.open({
      selfId,
      clock: systemClock,
      bus: node.bus,
      register: (registration) => node.register(registration),
      chunks: await DexieChunkStore.open(),
      corpora: store,
      files: store,
      // A new collection is embedded with the best model here; an existing one keeps its own (rag/corpus.ts).
      embed: async (texts, model) => embed.embedLocal(texts, model ?? embed.preferredModel),
      community,
      onlinePeers: () => node.peers().map((p) => p.nodeId),
      log: (level, message, fields) => {
        if (level === 'warn') console.warn(`[hearthnet] ${message}`, fields ?? {});
      }
    });
    const libraryHost = new LibraryHost(library, options);
    // The log, peers and capabilities all change what the pages show.
    host.subscribe(() => library.changed());
    node.bus.subscribeCapabilities(() => libraryHost.notify());
    library.subscribe(() => libraryHost.notify());
    return libraryHost;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private holder(nodeId: string, online: ReadonlySet<string>): HolderView {
    const isSelf = nodeId === this.options.selfId;
    // The pages mark this device themselves ("this device"): its plain name here, not nameOf's "(this node)".
    const name = isSelf ? this.options.node.identity().displayName : this.options.nameOf(nodeId);
    return { nodeId, name, online: isSelf || online.has(nodeId), isSelf };
  }

  private online(): Set<string> {
    return new Set(this.options.node.peers().map((p) => p.nodeId));
  }

  private view(): LibraryView | null {
    return (this.options.host.community?.engine.view(LIBRARY_VIEW_NAME) as LibraryView | undefined) ?? null;
  }

  async files(): Promise<FilesState> {
    const library = this.library;
    const online = this.online();
    const shared = new Map((this.view()?.sharedFiles() ?? []).map((f) => [f.cid, f]));
    const heard = new Map(library.advertisedFiles().map((f) => [f.cid, f.description]));
    const cids = new Set([...library.localMetas().map((m) => m.cid), ...shared.keys(), ...heard.keys(), ...library.transferList().map((t) => t.cid)]);
    const files: FileView[] = [];
    for (const cid of cids) {
      const meta = library.meta(cid);
      const announced = shared.get(cid);
      const told = heard.get(cid);
      const state = await library.localState(cid);
      const holders = library.holdersOf(cid);
      const complete = state !== null && state.held === state.total;
      if (complete) holders.unshift(this.options.selfId);
      files.push({
        cid,
        name: meta?.name || announced?.name || told?.name || '',
        mediaType: meta?.media_type || announced?.media_type || told?.media_type || '',
        sizeBytes: meta?.size_bytes ?? announced?.size_bytes ?? told?.size_bytes ?? 0,
        addedAt: meta?.added_at ?? announced?.first_seen ?? 0,
        local: state === null ? 'none' : complete ? 'complete' : 'partial',
        chunksHeld: state?.held ?? 0,
        chunksTotal: state?.total ?? 0,
        holders: holders.map((h) => this.holder(h, online))
      });
    }
    files.sort((a, b) => b.addedAt - a.addedAt || a.cid.localeCompare(b.cid));
    const transfers: TransferView[] = library.transferList().map((t) => ({
      cid: t.cid,
      name: t.name,
      phase: t.phase,
      bytesDone: t.bytesDone,
      bytesTotal: t.bytesTotal,
      bytesPerSecond: Math.round(t.bytesPerSecond),
      sources: t.sources.map((s) => this.options.nameOf(s)),
      error: t.error ? t.error.toWire() : null,
      startedAt: t.startedAt
    }));
    return { files, transfers, usedBytes: await library.blobs.chunks.bytesUsed() };
  }

  libraryState(): LibraryState {
    const online = this.online();
    const documents = this.view()?.corpusDocuments() ?? [];
    const names = new Set(documents.map((d) => d.corpus));
    for (const name of this.library.rag.corpusNames) names.add(name);
    // Who answers rag.query for which corpus right now: the capability entries say (params.corpora).
    const answering = new Map<string, Set<string>>();
    for (const entry of this.options.node.bus.capabilities()) {
      if (entry.name !== 'rag.query') continue;
      const corpora = (entry.params as { corpora?: unknown } | undefined)?.corpora;
      for (const corpus of Array.isArray(corpora) ? corpora : []) {
        if (typeof corpus !== 'string') continue;
        names.add(corpus);
        answering.set(corpus, (answering.get(corpus) ?? new Set()).add(entry.nodeId));
      }
    }
    const corpora: CorpusView[] = [...names].sort().map((name) => {
      const holders = [...(answering.get(name) ?? [])];
      return {
        name,
        documents: documents
          .filter((d) => d.corpus === name)
          .map((d) => ({ docCid: d.doc_cid, title: d.title, chunks: d.chunks, holder: d.holder, holderName: this.options.nameOf(d.holder), ingestedAt: d.ingested_at, embeddingModel: d.embedding_model })),
        holders: holders.map((h) => this.holder(h, online)),
        reachable: holders.length > 0
      };
    });
    const level = this.options.host.community?.view.levelOf(this.options.selfId) ?? 'none';
    const canIngest = level === 'trusted' || level === 'anchor';
    const ingestNote = canIngest
      ? null
      : this.options.host.community
        ? 'Adding documents to the library needs a trusted member; ask an anchor to promote this device.'
        : 'Create or join a community first: adding documents to its library needs a trusted member.';
    return { corpora, ingests: [...this.ingests.values()].reverse(), canIngest, ingestNote };
  }

  /** Stores the document, then has a node that can index (this one when it can) ingest it. */
  async ingest(doc: { corpus: string; title: string; name: string; mediaType: string; bytes: Uint8Array }): Promise<{ docCid: string; chunks: number }> {
    const id = nextIngestId();
    const view: IngestView = { id, title: doc.title, corpus: doc.corpus, phase: 'storing', fraction: 0, chunks: null, error: null };
    this.ingests.set(id, view);
    this.notify();
    try {
      const manifest = await this.library.addFile({ name: doc.name, mediaType: doc.mediaType, bytes: doc.bytes });
      Object.assign(view, { phase: 'indexing', fraction: null });
      this.notify();
      const result = (await this.options.node.bus.call(
        'rag.ingest',
        '1.0',
        { params: { corpus: doc.corpus }, input: { doc_cid: manifest.cid, title: doc.title, ...(doc.mediaType ? { media_type: doc.mediaType } : {}) } },
        { timeoutMs: 600_000 }
      )) as { output: { chunks_indexed: number } };
      Object.assign(view, { phase: 'done', fraction: 1, chunks: result.output.chunks_indexed });
      return { docCid: manifest.cid, chunks: result.output.chunks_indexed };
    } catch (err) {
      Object.assign(view, { phase: 'failed', fraction: null, error: HearthError.from(err).toWire() });
      throw err;
    } finally {
      this.notify();
    }
  }
}

/**
 * The retrieval service (M05): `rag.query@1.0`, `rag.list_corpora@1.0` and `rag.ingest@1.0` (contract §4.4–4.6)
 * over this node's corpora. Each corpus is a {@link Corpus}; documents come from the blob store by CID (ingest is
 * idempotent by that CID), are embedded with this node's embedder when it has one (hybrid retrieval) and persisted
 * as snapshots, and every ingest is announced as a `rag.document.ingested` event so members know the corpus.
 *
 * The entries advertise the corpora held here (`params.corpora`), so the router sends a query to a node that has
 * the corpus; ingest accepts any corpus name (`params.any_corpus`) because it creates corpora.
 */
import { HearthError, isCid, type Clock } from '../core/index.js';
import type { CapabilityRegistration } from '../bus/index.js';
import { Corpus, type DocumentMetadata } from './corpus.js';
import type { RagFilter } from './filters.js';
import type { EmbedFn } from './ports.js';
import { RAG_DEFAULT_K, RAG_MAX_K } from './constants.js';

export const RAG_VERSION = '1.0';
const CORPUS_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAX_QUERY_CHARS = 2_000;
const MAX_TITLE_CHARS = 300;
/** Ingest reads, extracts and embeds a whole document: minutes for a long PDF on a phone. */
const INGEST_TIMEOUT_SECONDS = 600;
const FILTER_KEYS = ['language', 'doc_cids', 'media_types', 'tags', 'page_from', 'page_to', 'min_year', 'max_year'] as const;
/** input.metadata of rag.ingest (contract §4.5): a flat object of at most this many short values. */
const MAX_METADATA_KEYS = 16;
const MAX_METADATA_VALUE_CHARS = 200;
const METADATA_KEY = /^[a-z][a-z0-9_]{0,31}$/;

export interface BlobReader {
  /** The blob's bytes, or null when this node cannot resolve the CID. */
  read(cid: string, signal: AbortSignal): Promise<Uint8Array | null>;
}

export interface CorpusStore {
  loadAll(): Promise<Record<string, unknown>>;
  save(name: string, snapshot: unknown): Promise<void>;
}

export interface IngestedEvent {
  corpus: string;
  doc_cid: string;
  title: string;
  chunks: number;
  embedding_model: string | null;
}

export interface RagServiceOptions {
  register(registration: CapabilityRegistration): () => void;
  clock: Clock;
  selfId: string;
  blobs: BlobReader;
  /** This node's embedder; null: lexical retrieval only. */
  embed: EmbedFn | null;
  store?: CorpusStore;
  /** Writes the `rag.document.ingested` event; returns its id (null outside a community). */
  announce?(event: IngestedEvent): Promise<string | null>;
}

type Body = { params?: Record<string, unknown>; input?: Record<string, unknown> };

function bad(message: string): never {
  throw new HearthError('bad_request', message);
}

function corpusNameOf(body: Body): string {
  const name = body.params?.corpus;
  if (typeof name !== 'string' || !CORPUS_NAME.test(name)) bad('params.corpus must be a corpus name: lowercase letters, digits and "-", at most 63 characters');
  return name;
}

/** Sniffed, because a blob carries no type: PDF by its magic bytes, Markdown by the title's extension, else text. */
function mediaTypeOf(bytes: Uint8Array, title: string, given: unknown): string {
  if (typeof given === 'string') return given;
  if (bytes.length >= 5 && String.fromCharCode(...bytes.subarray(0, 5)) === '%PDF-') return 'application/pdf';
  return /\.(md|markdown)$/i.test(title) ? 'text/markdown' : 'text/plain';
}

function filterOf(value: unknown): RagFilter | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) bad('input.filter must be an object');
  const wire = value as Record<string, unknown>;
  const unknown = Object.keys(wire).filter((k) => !(FILTER_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) bad(`input.filter does not know ${unknown.join(', ')}; it accepts ${FILTER_KEYS.join(', ')}`);
  const pages = wire.page_from !== undefined || wire.page_to !== undefined ? { from: wire.page_from as number | undefined, to: wire.page_to as number | undefined } : undefined;
  const years = wire.min_year !== undefined || wire.max_year !== undefined ? { min: wire.min_year as number | undefined, max: wire.max_year as number | undefined } : undefined;
  return {
    years,
    language: wire.language as string | undefined,
    documentIds: wire.doc_cids as string[] | undefined,
    mediaTypes: wire.media_types as string[] | undefined,
    tags: wire.tags as string[] | undefined,
    pages
  };
}

/** Checks rag.ingest's `input.metadata`: flat, small, JSON-safe, `year` a whole number when given. */
function metadataOf(value: unknown): DocumentMetadata | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) bad('input.metadata must be an object such as {"author": "…", "year": 2024}');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_METADATA_KEYS) bad(`input.metadata may have at most ${MAX_METADATA_KEYS} keys`);
  const metadata: DocumentMetadata = {};
  for (const [key, item] of entries) {
    if (!METADATA_KEY.test(key)) bad(`input.metadata key ${JSON.stringify(key).slice(0, 40)} must be lowercase letters, digits and "_"`);
    const ok = typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item)) || (typeof item === 'string' && item.length <= MAX_METADATA_VALUE_CHARS);
    if (!ok) bad(`input.metadata.${key} must be text of at most ${MAX_METADATA_VALUE_CHARS} characters, a number or true/false`);
    metadata[key] = item as string | number | boolean;
  }
  if (metadata.year !== undefined && !Number.isInteger(metadata.year)) bad('input.metadata.year must be a whole year such as 2024');
  return metadata;
}

export class RagService {
  private readonly corpora = new Map<string, Corpus>();
  /** Corpora whose saved snapshot could not be read at start. */
  private readonly damaged = new Set<string>();
  private withdraw: (() => void)[] = [];
  private offered = '';

  constructor(private readonly options: RagServiceOptions) {}

  /** Restores persisted corpora and offers the capabilities. */
  async start(): Promise<void> {
    for (const [name, snapshot] of Object.entries((await this.options.store?.loadAll()) ?? {})) {
      try {
        this.corpora.set(name, Corpus.restore(snapshot));
      } catch {
        // Kept as it is on disk: an ingest into this name would save over the record of its documents.
        this.damaged.add(name);
      }
    }
    this.offer();
  }

  stop(): void {
    for (const withdraw of this.withdraw) withdraw();
    this.withdraw = [];
    this.offered = '';
  }

  get corpusNames(): string[] {
    return [...this.corpora.keys()].sort();
  }

  /** Whether `corpus` here has indexed the document `docCid`. */
  holds(corpus: string, docCid: string): boolean {
    return this.corpora.get(corpus)?.documents().some((d) => d.id === docCid) ?? false;
  }

  private offer(): void {
    const names = this.corpusNames;
    if (this.offered === names.join('\n') && this.withdraw.length > 0) return;
    this.stop();
    this.offered = names.join('\n');
    const common = { version: RAG_VERSION, owner: 'rag', stability: 'stable' as const };
    this.withdraw = [
      this.options.register({ ...common, name: 'rag.query', params: { corpora: names }, trustRequired: 'member', idempotent: true, handler: (body: unknown) => this.query(body as Body) }),
      this.options.register({ ...common, name: 'rag.list_corpora', trustRequired: 'member', idempotent: true, handler: async () => this.listCorpora() }),
      this.options.register({
        ...common,
        name: 'rag.ingest',
        params: { corpora: names, any_corpus: true },
        paramsCompatible: () => true,
        trustRequired: 'trusted',
        maxConcurrent: 1,
        timeoutSeconds: INGEST_TIMEOUT_SECONDS,
        handler: (body: unknown, ctx) => this.ingest(body as Body, ctx.signal)
      })
    ];
  }

  private async query(body: Body) {
    const started = this.options.clock.now();
    const name = corpusNameOf(body);
    const input = body.input ?? {};
    const corpus = this.corpora.get(name);
    if (!corpus) throw new HearthError('not_found', `this node has no corpus "${name}"; it has ${this.corpusNames.join(', ') || 'none'}`);
    const text = input.query;
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_QUERY_CHARS) bad(`input.query must be text of 1 to ${MAX_QUERY_CHARS} characters`);
    const k = input.k ?? RAG_DEFAULT_K;
    if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > RAG_MAX_K) bad(`input.k must be a whole number from 1 to ${RAG_MAX_K}`);
    const includeText = input.include_text !== false;
    const result = await corpus.query(text, { k: k as number, filter: filterOf(input.filter), embed: this.options.embed ?? undefined });
    return {
      output: {
        chunks: result.chunks.map((c) => ({
          rank: c.rank,
          score: c.score,
          ...(includeText ? { text: c.text } : {}),
          metadata: { doc_cid: c.documentId, doc_title: c.title, chunk_id: c.chunkId, ...(c.page !== undefined ? { page: c.page } : {}), ...(c.section ? { section: c.section } : {}) }
        }))
      },
      meta: { corpus: name, ms: this.options.clock.now() - started, mode: result.mode, ...(result.embeddingModel ? { embedding_model: result.embeddingModel } : {}), served_by: this.options.selfId }
    };
  }

  private listCorpora() {
    const started = this.options.clock.now();
    const corpora = this.corpusNames.map((name) => {
      const stats = this.corpora.get(name)!.stats();
      return { name, docs: stats.documents, chunks: stats.chunks, size_bytes: stats.sizeBytes, ...(stats.languageMajority ? { language_majority: stats.languageMajority } : {}), ...(stats.embeddingModel ? { embedding_model: stats.embeddingModel } : {}) };
    });
    return { output: { corpora }, meta: { ms: this.options.clock.now() - started } };
  }

  private async ingest(body: Body, signal: AbortSignal) {
    const started = this.options.clock.now();
    const name = corpusNameOf(body);
    const input = body.input ?? {};
    const cid = input.doc_cid;
    if (!isCid(cid)) bad('input.doc_cid must be a blob CID (blake3:<64 hex>)');
    const title = input.title;
    if (typeof title !== 'string' || title.trim() === '' || title.length > MAX_TITLE_CHARS) bad(`input.title must be text of 1 to ${MAX_TITLE_CHARS} characters`);
    if (input.language !== undefined && typeof input.language !== 'string') bad('input.language must be a language code such as "de"');
    const metadata = metadataOf(input.metadata);
    if (this.damaged.has(name)) {
      throw new HearthError('internal_error', `the saved index of corpus "${name}" could not be read at start; it is kept untouched — ingest into another corpus name`);
    }
    const bytes = await this.options.blobs.read(cid, signal);
    if (!bytes) throw new HearthError('not_found', `the document ${cid} is not in this node's blob store; add or fetch the file first`);
    const corpus = this.corpora.get(name) ?? new Corpus();
    const tags = Array.isArray(input.tags) ? input.tags.filter((t): t is string => typeof t === 'string') : undefined;
    const result = await corpus.ingest({ id: cid, title, mediaType: mediaTypeOf(bytes, title, input.media_type), bytes, language: input.language as string | undefined, tags, metadata }, this.options.embed ?? undefined);
    if (!this.corpora.has(name)) this.corpora.set(name, corpus);
    let eventId: string | null = null;
    if (!result.alreadyIndexed) {
      try {
        await this.options.store?.save(name, corpus.snapshot());
        eventId = (await this.options.announce?.({ corpus: name, doc_cid: cid, title, chunks: result.chunksIndexed, embedding_model: corpus.embeddingModel ?? null })) ?? null;
      } catch (err) {
        // Not kept, not announced: take it out again, so a retry does the whole ingest instead of "already indexed".
        corpus.remove(cid);
        if (corpus.documents().length === 0) this.corpora.delete(name);
        throw err;
      }
      this.offer(); // a new corpus is advertised
    }
    return {
      output: { doc_cid: cid, chunks_indexed: result.chunksIndexed, tokens_indexed: result.tokensIndexed, already_indexed: result.alreadyIndexed },
      meta: { corpus: name, ms: this.options.clock.now() - started, ...(eventId ? { ingest_event_id: eventId } : {}) }
    };
  }
}

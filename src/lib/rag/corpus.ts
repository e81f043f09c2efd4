/**
 * One corpus: documents in, ranked chunks out. Ingest extracts text, chunks it, optionally embeds the chunks through
 * the EmbedFn port, and indexes them lexically (BM25) and, when embedded, as vectors of one model. A query is
 * lexical when no embedder is given (or nothing is embedded yet), hybrid (BM25 + cosine, fused by RRF) otherwise.
 * A corpus keeps the model it was first embedded with: later ingests and queries ask the EmbedFn for that model, so
 * a node that loads a better model later does not turn its old corpora lexical; when the node no longer has it,
 * queries are lexical and new documents are indexed by their words.
 * Ingest is idempotent on the document id (M05 §4.3) and all-or-nothing: a failed extraction or embedding leaves
 * the corpus unchanged.
 */
import { HearthError } from '../core/errors.js';
import { Bm25Index, type Scored } from './bm25.js';
import { approximateTokens, chunkSegments } from './chunk.js';
import { FUSION_CANDIDATES_PER_K, FUSION_MIN_CANDIDATES, RAG_CHUNK_OVERLAP_TOKENS, RAG_CHUNK_TOKENS, RAG_DEFAULT_K, RAG_MAX_K, SNAPSHOT_VERSION } from './constants.js';
import { extractText, normaliseMediaType } from './extract.js';
import { chunkPredicate, type RagFilter } from './filters.js';
import { reciprocalRankFusion } from './fusion.js';
import type { EmbedFn, Embedding } from './ports.js';
import { checkSnapshot, decodeVector, encodeVector, type CorpusSnapshot } from './snapshot.js';
import type { Chunk, MediaType } from './types.js';
import { VectorIndex } from './vector-index.js';

/** Texts per embed call, so one large PDF does not become one huge request. */
const EMBED_BATCH_TEXTS = 64;

export interface DocumentInput {
  id: string;
  title: string;
  mediaType: string;
  bytes: Uint8Array;
  tags?: string[];
  language?: string;
  /** Contract §4.5 `metadata` (author, year, …), already checked by the service. */
  metadata?: DocumentMetadata;
}

/** Flat, small and JSON-safe: what rag.ingest accepts as `input.metadata`. */
export type DocumentMetadata = Record<string, string | number | boolean>;

export interface DocumentRecord {
  id: string;
  title: string;
  mediaType: MediaType;
  tags: string[];
  language?: string;
  pages?: number;
  metadata?: DocumentMetadata;
  chunks: number;
  tokens: number;
  embedded: boolean;
}

export interface IngestResult {
  documentId: string;
  chunksIndexed: number;
  tokensIndexed: number;
  /** True when the document was already in the corpus and nothing was done. */
  alreadyIndexed: boolean;
}

export interface QueryOptions {
  k?: number;
  filter?: RagFilter;
  embed?: EmbedFn;
}

export interface RankedChunk {
  rank: number;
  /** BM25 score (lexical) or RRF score (hybrid): comparable within one result list only. */
  score: number;
  chunkId: string;
  documentId: string;
  title: string;
  page?: number;
  section?: string;
  start: number;
  end: number;
  text: string;
  /** 1-based rank in each list that found the chunk. */
  ranks: { lexical?: number; vector?: number };
}

export interface QueryResult {
  mode: 'lexical' | 'hybrid';
  embeddingModel?: string;
  chunks: RankedChunk[];
}

export interface CorpusOptions {
  tokensPerChunk?: number;
  overlapTokens?: number;
}

export class Corpus {
  readonly tokensPerChunk: number;
  readonly overlapTokens: number;
  readonly #documents = new Map<string, DocumentRecord>();
  readonly #chunks = new Map<string, Chunk>();
  readonly #lexical = new Bm25Index();
  #vectors: VectorIndex | undefined;

  constructor(options: CorpusOptions = {}) {
    this.tokensPerChunk = options.tokensPerChunk ?? RAG_CHUNK_TOKENS;
    this.overlapTokens = options.overlapTokens ?? RAG_CHUNK_OVERLAP_TOKENS;
  }

  get embeddingModel(): string | undefined {
    return this.#vectors?.model;
  }

  has(documentId: string): boolean {
    return this.#documents.has(documentId);
  }

  documents(): DocumentRecord[] {
    return [...this.#documents.values()].map((d) => ({ ...d, tags: [...d.tags] }));
  }

  chunksOf(documentId: string): Chunk[] {
    return [...this.#chunks.values()].filter((c) => c.documentId === documentId);
  }

  /** For rag.list_corpora (CONTRACT §4.6). */
  stats(): { documents: number; chunks: number; sizeBytes: number; embeddingModel?: string; languageMajority?: string } {
    let sizeBytes = 0;
    for (const chunk of this.#chunks.values()) sizeBytes += chunk.text.length * 2 + (this.#vectors?.get(chunk.id)?.byteLength ?? 0);
    const languages = new Map<string, number>();
    for (const d of this.#documents.values()) if (d.language) languages.set(d.language, (languages.get(d.language) ?? 0) + d.chunks);
    const languageMajority = [...languages].sort((a, b) => b[1] - a[1])[0]?.[0];
    return { documents: this.#documents.size, chunks: this.#chunks.size, sizeBytes, embeddingModel: this.embeddingModel, languageMajority };
  }

  async ingest(input: DocumentInput, embed?: EmbedFn): Promise<IngestResult> {
    if (typeof input.id !== 'string' || input.id === '') throw new HearthError('bad_request', 'document id must be a non-empty string');
    const existing = this.#documents.get(input.id);
    if (existing) return { documentId: input.id, chunksIndexed: existing.chunks, tokensIndexed: existing.tokens, alreadyIndexed: true };
    const mediaType = normaliseMediaType(input.mediaType);
    const extracted = await extractText(input.bytes, mediaType);
    const chunks = chunkSegments(input.id, extracted.segments, this);
    if (chunks.length === 0) throw new HearthError('bad_request', `document "${input.id}" has no text to index`, { extra: { reason: 'empty_document' } });
    let embedding = embed ? await this.#embedChunks(chunks, embed, this.#vectors?.model) : undefined;
    // Vectors of another model (an EmbedFn that could not honour the model asked for): index this one by its words
    // only, rather than mix vectors of two models or refuse the document.
    if (embedding && this.#vectors && embedding.model !== this.#vectors.model) embedding = undefined;
    if (this.#documents.has(input.id)) return this.ingest(input); // a concurrent ingest of the same id won the race

    if (embedding) {
      this.#vectors ??= new VectorIndex(embedding.model);
      chunks.forEach((chunk, i) => this.#vectors?.add(chunk.id, embedding.vectors[i], embedding.model));
    }
    for (const chunk of chunks) {
      this.#chunks.set(chunk.id, chunk);
      this.#lexical.add(chunk.id, indexText(chunk));
    }
    const tokens = chunks.reduce((sum, c) => sum + approximateTokens(c.text), 0);
    const record: DocumentRecord = {
      id: input.id,
      title: input.title,
      mediaType,
      tags: (input.tags ?? []).map((t) => t.toLowerCase()),
      chunks: chunks.length,
      tokens,
      embedded: embedding !== undefined
    };
    if (input.language !== undefined) record.language = input.language;
    if (extracted.pages !== undefined) record.pages = extracted.pages;
    if (input.metadata && Object.keys(input.metadata).length > 0) record.metadata = { ...input.metadata };
    this.#documents.set(input.id, record);
    return { documentId: input.id, chunksIndexed: chunks.length, tokensIndexed: tokens, alreadyIndexed: false };
  }

  remove(documentId: string): boolean {
    if (!this.#documents.delete(documentId)) return false;
    for (const chunk of this.chunksOf(documentId)) {
      this.#chunks.delete(chunk.id);
      this.#lexical.remove(chunk.id);
      this.#vectors?.remove(chunk.id);
    }
    return true;
  }

  async query(text: string, options: QueryOptions = {}): Promise<QueryResult> {
    const k = options.k ?? RAG_DEFAULT_K;
    if (!Number.isInteger(k) || k < 1 || k > RAG_MAX_K) throw new HearthError('bad_request', `k must be an integer from 1 to ${RAG_MAX_K}`);
    if (typeof text !== 'string') throw new HearthError('bad_request', 'query must be a string');
    const predicate = chunkPredicate(options.filter, (id) => this.#documents.get(id));
    const accept = predicate && ((id: string) => predicate(this.#chunks.get(id) as Chunk));
    const vectors = this.#vectors;
    if (!options.embed || !vectors || vectors.size === 0) {
      const lexical = this.#lexical.search(text, { limit: k, accept });
      return { mode: 'lexical', chunks: lexical.map((s, i) => this.#ranked(s, i, { lexical: i + 1 })) };
    }
    const candidates = Math.max(FUSION_MIN_CANDIDATES, FUSION_CANDIDATES_PER_K * k);
    let embedding: Embedding;
    try {
      embedding = await options.embed([text], vectors.model);
    } catch (err) {
      if (isModelMissing(err)) return this.query(text, { ...options, embed: undefined }); // the model is gone: words only
      throw err;
    }
    const queryVector = embedding.vectors[0];
    if (!queryVector) throw new HearthError('internal_error', 'the embedder returned no vector for the query');
    if (embedding.model !== vectors.model) return this.query(text, { ...options, embed: undefined }); // other model: words only
    const dense = vectors.search(queryVector, embedding.model, { limit: candidates, accept });
    const lexical = this.#lexical.search(text, { limit: candidates, accept });
    const lexicalRank = new Map(lexical.map((s, i) => [s.id, i + 1]));
    const denseRank = new Map(dense.map((s, i) => [s.id, i + 1]));
    const fused = reciprocalRankFusion([lexical, dense]).slice(0, k);
    return {
      mode: 'hybrid',
      embeddingModel: vectors.model,
      chunks: fused.map((s, i) => this.#ranked(s, i, { lexical: lexicalRank.get(s.id), vector: denseRank.get(s.id) }))
    };
  }

  snapshot(): CorpusSnapshot {
    const vectors: Record<string, string> = {};
    for (const chunk of this.#chunks.values()) {
      const vector = this.#vectors?.get(chunk.id);
      if (vector) vectors[chunk.id] = encodeVector(vector);
    }
    const snapshot: CorpusSnapshot = {
      version: SNAPSHOT_VERSION,
      tokensPerChunk: this.tokensPerChunk,
      overlapTokens: this.overlapTokens,
      documents: this.documents(),
      chunks: [...this.#chunks.values()].map((c) => ({ ...c })),
      vectors
    };
    if (this.#vectors) snapshot.embeddingModel = this.#vectors.model;
    return snapshot;
  }

  static restore(value: unknown): Corpus {
    const snapshot = checkSnapshot(value);
    const corpus = new Corpus({ tokensPerChunk: snapshot.tokensPerChunk, overlapTokens: snapshot.overlapTokens });
    for (const d of snapshot.documents) corpus.#documents.set(d.id, { ...d, tags: [...d.tags] });
    if (snapshot.embeddingModel) corpus.#vectors = new VectorIndex(snapshot.embeddingModel);
    for (const chunk of snapshot.chunks) {
      if (!corpus.#documents.has(chunk.documentId)) throw new HearthError('bad_request', `snapshot chunk ${chunk.id} belongs to no document`);
      corpus.#chunks.set(chunk.id, { ...chunk });
      corpus.#lexical.add(chunk.id, indexText(chunk));
      const vector = snapshot.vectors[chunk.id];
      if (vector !== undefined) {
        if (!corpus.#vectors) throw new HearthError('bad_request', 'snapshot has vectors but no embedding model');
        corpus.#vectors.add(chunk.id, decodeVector(vector), corpus.#vectors.model);
      }
    }
    return corpus;
  }

  /** undefined when the corpus's model (`wanted`) is no longer on the node: the document is indexed by its words. */
  async #embedChunks(chunks: Chunk[], embed: EmbedFn, wanted: string | undefined): Promise<Embedding | undefined> {
    let model: string | undefined;
    const vectors: Float32Array[] = [];
    for (let i = 0; i < chunks.length; i += EMBED_BATCH_TEXTS) {
      const batch = chunks.slice(i, i + EMBED_BATCH_TEXTS);
      let result: Embedding;
      try {
        result = await embed(batch.map(embedText), wanted);
      } catch (err) {
        if (wanted !== undefined && isModelMissing(err)) return undefined;
        throw err;
      }
      if (result.vectors.length !== batch.length) {
        throw new HearthError('internal_error', `the embedder returned ${result.vectors.length} vectors for ${batch.length} texts`);
      }
      if (model !== undefined && result.model !== model) throw new HearthError('internal_error', 'the embedder changed model in the middle of a document');
      model = result.model;
      vectors.push(...result.vectors);
    }
    const probe = this.#vectors && this.#vectors.model === model ? this.#vectors : new VectorIndex(model as string);
    for (const vector of vectors) probe.check(model as string, vector); // refuse before anything is stored
    if (new Set(vectors.map((v) => v.length)).size > 1) throw new HearthError('bad_request', 'the embedder returned vectors of different dimensions');
    return { model: model as string, vectors };
  }

  #ranked(scored: Scored, i: number, ranks: RankedChunk['ranks']): RankedChunk {
    const chunk = this.#chunks.get(scored.id) as Chunk;
    const out: RankedChunk = {
      rank: i + 1,
      score: scored.score,
      chunkId: chunk.id,
      documentId: chunk.documentId,
      title: this.#documents.get(chunk.documentId)?.title ?? '',
      start: chunk.start,
      end: chunk.end,
      text: chunk.text,
      ranks: {}
    };
    if (chunk.page !== undefined) out.page = chunk.page;
    if (chunk.section !== undefined) out.section = chunk.section;
    if (ranks.lexical !== undefined) out.ranks.lexical = ranks.lexical;
    if (ranks.vector !== undefined) out.ranks.vector = ranks.vector;
    return out;
  }
}

/** The EmbedFn's answer when the node does not have the model asked for (EmbedService: not_implemented). */
function isModelMissing(err: unknown): boolean {
  return err instanceof HearthError && (err.code === 'not_implemented' || err.code === 'not_found');
}

/** What BM25 sees: the chunk's words plus its section path, so a heading's words find the section's chunks. */
function indexText(chunk: Chunk): string {
  return chunk.section ? `${chunk.section}\n${chunk.text}` : chunk.text;
}

/** What the embedder sees: the same, so vectors carry the section context too. */
function embedText(chunk: Chunk): string {
  return indexText(chunk);
}

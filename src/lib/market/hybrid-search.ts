/**
 * Hybrid ranking for `market.search` when this node can embed text (M06 §4.3, §5): reciprocal rank fusion
 * (rag/fusion.ts) of the lexical ranking (search.ts) and the cosine similarity between the query's vector and each
 * active post's vector. The service answers lexically when this throws (market-service.ts).
 *
 * Rules (tests cite them):
 *  H1 A post that matches no query word lexically is returned only when its cosine to the query is at least
 *     SEARCH_MIN_COSINE, so a query about nothing on the market finds nothing rather than the nearest noise.
 *  H2 Equal fused scores are ordered by post id (event id, ascending): every node orders them alike.
 *  H3 Vectors of two models (or two lengths) never meet: the cache holds one model's vectors, and an answer from
 *     another model empties it. A model change in the middle of one search fails that search (→ lexical).
 *  H4 Post vectors are cached by post id and a hash of the embedded text (title, tags, body), so an update re-embeds
 *     the post; at most POST_VECTOR_CACHE_MAX_ENTRIES, the least recently used evicted first (M06 §4.3).
 *  H5 One search embeds at most SEARCH_MAX_POSTS_EMBEDDED uncached posts (lexical order, so best matches and then
 *     the newest first); the rest rank by their words only until a later search has embedded them.
 *  H6 An embedder answer of the wrong count, length or with non-finite numbers is a failure, like a throw.
 */
import { HearthError } from '../core/index.js';
import { dot, normaliseInPlace } from '../embed/embedder.js';
import { topScored, type Scored } from '../rag/bm25.js';
import { reciprocalRankFusion } from '../rag/fusion.js';
import type { EmbedFn, Embedding } from '../rag/ports.js';
import type { ScoredPost } from './market-view.js';

/**
 * Measured with `hearth-hashed-ngrams-v1` on the labelled set in tests/unit/market/labelled-posts.ts: among the
 * (query, post) pairs with no word in common, unrelated pairs reach at most 0.130 and the related ones found at all
 * lie at 0.196 and above; 0.16 sits between them. Cosines of other models are spread differently (sentence models
 * put unrelated short texts higher); this value has not been measured for them.
 */
export const SEARCH_MIN_COSINE = 0.16;
/** M06 §4.3. About 20 MB of 1024-dimension float32 vectors when full; a neighbourhood market holds far fewer posts. */
export const POST_VECTOR_CACHE_MAX_ENTRIES = 5000;
/** Texts per embed call, well under embed.text's 256 (contract §4.3). */
export const SEARCH_EMBED_BATCH_TEXTS = 64;
/** Bounds the work of one search on a cold cache (a node that just joined, a new model) to four full batches. */
export const SEARCH_MAX_POSTS_EMBEDDED = 4 * SEARCH_EMBED_BATCH_TEXTS;

/** What a post's vector is made of. */
export function postEmbeddingText(post: { title: string; body: string; tags: readonly string[] }): string {
  return `${post.title}\n${post.tags.join(' ')}\n${post.body}`;
}

/** FNV-1a (32 bit) over UTF-16 code units, with the length: tells an updated post's text from its old one. */
export function textHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return `${text.length}:${(hash >>> 0).toString(36)}`;
}

/** Unit-length vectors of one model, by post id and text hash, least recently used first out (H3, H4). */
export class PostVectorCache {
  #model: string | null = null;
  #dimensions = 0;
  /** Map order is recency order: a hit moves its entry to the end. */
  readonly #entries = new Map<string, { hash: string; vector: Float32Array }>();

  constructor(readonly maxEntries: number = POST_VECTOR_CACHE_MAX_ENTRIES) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive whole number, not ${maxEntries}`);
  }

  get model(): string | null {
    return this.#model;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Makes `model`, with vectors of `dimensions`, the cache's; the vectors of any other are dropped. */
  use(model: string, dimensions: number): void {
    if (model === this.#model && dimensions === this.#dimensions) return;
    this.#entries.clear();
    this.#model = model;
    this.#dimensions = dimensions;
  }

  /** Undefined unless `model` is the cache's model and the post's text still has `hash`. */
  get(model: string | null, postId: string, hash: string): Float32Array | undefined {
    const entry = model === this.#model ? this.#entries.get(postId) : undefined;
    if (!entry || entry.hash !== hash) return undefined;
    this.#entries.delete(postId);
    this.#entries.set(postId, entry);
    return entry.vector;
  }

  /** Ignored unless `model` is the cache's model: a search that started before a model change must not mix. */
  set(model: string, postId: string, hash: string, vector: Float32Array): void {
    if (model !== this.#model || vector.length !== this.#dimensions) return;
    this.#entries.delete(postId);
    this.#entries.set(postId, { hash, vector });
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

export interface HybridAnswer {
  model: string;
  /** `score` is the fused score: comparable within one answer only. */
  posts: ScoredPost[];
}

/** A copy at unit length; anything but a finite, non-empty vector of `dimensions` numbers is a failure (H6). */
function unitCopy(value: unknown, dimensions: number | undefined): Float32Array {
  const length = (value as { length?: unknown } | null)?.length;
  if (typeof length !== 'number' || length === 0 || (dimensions !== undefined && length !== dimensions)) {
    throw new HearthError('internal_error', `the embedder returned a vector of ${String(length)} numbers, expected ${dimensions ?? 'some'}`);
  }
  const vector = Float32Array.from(value as ArrayLike<number>);
  if (!vector.every(Number.isFinite)) throw new HearthError('internal_error', 'the embedder returned a vector with non-finite numbers');
  return normaliseInPlace(vector);
}

async function embedChecked(embed: EmbedFn, texts: string[], dimensions?: number): Promise<{ model: string; vectors: Float32Array[] }> {
  const answer: Embedding = await embed(texts);
  if (typeof answer?.model !== 'string' || answer.model === '') throw new HearthError('internal_error', 'the embedder named no model');
  if (!Array.isArray(answer.vectors) || answer.vectors.length !== texts.length) {
    throw new HearthError('internal_error', `the embedder returned ${answer.vectors?.length} vectors for ${texts.length} texts`);
  }
  const first = unitCopy(answer.vectors[0], dimensions);
  return { model: answer.model, vectors: [first, ...answer.vectors.slice(1).map((v) => unitCopy(v, first.length))] };
}

export class HybridRanker {
  constructor(
    private readonly embed: EmbedFn,
    readonly cache: PostVectorCache = new PostVectorCache()
  ) {}

  /**
   * The top `k` of `ranked` — every active post with its lexical score, best first (MarketView.lexicalRanking) —
   * by fused rank. Throws when the embedder fails in any way; the caller answers lexically then.
   */
  async rank(query: string, ranked: readonly ScoredPost[], k: number): Promise<HybridAnswer> {
    const texts = new Map(ranked.map((post) => [post.event_id, postEmbeddingText(post)]));
    const hashes = new Map([...texts].map(([id, text]) => [id, textHash(text)]));
    const vectors = new Map<string, Float32Array>();
    /** The model of the vectors in `vectors`; another search may switch the cache's while this one waits. */
    let model = this.cache.model;
    let budget = SEARCH_MAX_POSTS_EMBEDDED;
    const uncached = (room: number): string[] => {
      const ids: string[] = [];
      for (const { event_id: id } of ranked) {
        if (vectors.has(id)) continue;
        const cached = this.cache.get(model, id, hashes.get(id)!);
        if (cached) vectors.set(id, cached);
        else if (ids.length < Math.min(room, budget)) ids.push(id);
      }
      return ids;
    };
    const keep = (ids: readonly string[], embedded: readonly Float32Array[]) => {
      ids.forEach((id, i) => {
        vectors.set(id, embedded[i]);
        this.cache.set(model!, id, hashes.get(id)!, embedded[i]);
      });
      budget -= ids.length;
    };

    // The query travels with the first batch of posts, so a warm cache costs one call of one text.
    let batch = uncached(SEARCH_EMBED_BATCH_TEXTS - 1);
    const first = await embedChecked(this.embed, [query, ...batch.map((id) => texts.get(id)!)]);
    const queryVector = first.vectors[0];
    if (first.model !== model) vectors.clear(); // another model's vectors (H3)
    for (const [id, vector] of vectors) if (vector.length !== queryVector.length) vectors.delete(id);
    model = first.model;
    this.cache.use(model, queryVector.length);
    keep(batch, first.vectors.slice(1));
    while ((batch = uncached(SEARCH_EMBED_BATCH_TEXTS)).length > 0) {
      const more = await embedChecked(this.embed, batch.map((id) => texts.get(id)!), queryVector.length);
      if (more.model !== model) throw new HearthError('internal_error', `the embedding model changed from ${model} to ${more.model} during a search`);
      keep(batch, more.vectors);
    }

    const close = new Map<string, number>();
    for (const [id, vector] of vectors) {
      const cosine = dot(queryVector, vector);
      if (cosine >= SEARCH_MIN_COSINE) close.set(id, cosine); // H1
    }
    const lexical: Scored[] = ranked.filter((post) => post.score > 0).map((post) => ({ id: post.event_id, score: post.score }));
    const byId = new Map(ranked.map((post) => [post.event_id, post]));
    const fused = reciprocalRankFusion([lexical, topScored(close)]).slice(0, Math.max(0, k)); // ties by id (H2)
    return { model, posts: fused.map(({ id, score }) => ({ ...byId.get(id)!, score })) };
  }
}

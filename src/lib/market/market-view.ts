/**
 * The marketplace's materialised view (M06 §3.2): current posts, derived only from market.post.created, .updated
 * and .expired events in replay order. Peer data is untrusted, so an event that is malformed or not allowed at its
 * place in the order is ignored, never an error; what counts as allowed depends only on the events before it, so
 * every node holding the same events holds the same posts.
 *
 * Rules (tests cite them):
 *  V1 An event counts only when its author is an active member (not "none", not "revoked") at that point of replay.
 *  V2 created: the data passes `checkPostDraft`; the first post per (author, client_id) wins, later ones are ignored.
 *  V3 updated: by the post's author, on a post not yet expired by an event, only the fields in UPDATABLE_FIELDS,
 *     each valid; a later update overwrites an earlier one (last writer wins in replay order).
 *  V4 expired: allowed by `mayExpire`; the first allowed expiry of a post is the one kept, later ones are ignored.
 *  V5 Queries leave out posts expired by an event or whose expires_at has passed.
 */
import { parseRfc3339, rfc3339 } from '../core/index.js';
import type { CallerLevel } from '../bus/index.js';
import { compareEvents, type EventEnvelope, type EventType, type MaterialisedView } from '../events/index.js';
import { CATEGORIES, EXPIRY_REASONS, checkPostDraft, checkPostUpdate, isActiveMember, mayExpire, normaliseTags } from './post.js';
import type { Category, ExpiryReason, Post } from './post.js';
import { lexicalScore, searchableText, tokenise, type SearchableText } from './search.js';

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 500;

/** The community's standing of a node at the current replay position (the community view applies first). */
export interface Standing {
  levelOf(nodeId: string): CallerLevel;
}

/** A post with its bookkeeping; this is also what a snapshot holds. */
export interface PostRecord extends Post {
  client_id: string;
  /** The last event that created or changed the post, for `since_lamport`. */
  last_lamport: number;
  expired_via_event_id: string | null;
  expired_lamport: number | null;
  expiry_reason: ExpiryReason | null;
}

export interface MarketState {
  version: 1;
  max_lamport: number;
  /** In replay order of their created events. */
  posts: PostRecord[];
}

export interface ListQuery {
  category?: Category;
  /** A post must carry every one of them. */
  tags?: readonly string[];
  /** Only posts created or changed after this Lamport value. */
  since_lamport?: number;
  limit?: number;
}

export type ScoredPost = Post & { score: number };

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const clientKey = (author: string, clientId: string) => `${author}\n${clientId}`;
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function publicPost(record: PostRecord): Post {
  const { event_id, lamport, author, category, title, body, location, tags, created_at, expires_at } = record;
  return { event_id, lamport, author, category, title, body, location: location && { ...location }, tags: [...tags], created_at, expires_at };
}

/** Newest first: Lamport descending, then event id descending. */
const newestFirst = (a: PostRecord, b: PostRecord) => compareEvents(b, a);

export class MarketView implements MaterialisedView<MarketState> {
  readonly name = 'market';
  readonly eventTypes: readonly EventType[] = ['market.post.created', 'market.post.updated', 'market.post.expired'];
  private posts = new Map<string, PostRecord>();
  private byClientId = new Map<string, string>();
  private highest = 0;
  /** Tokens per post for search; derived, so never in a snapshot, and dropped when a post changes. */
  private readonly texts = new Map<string, SearchableText>();

  constructor(private readonly standing: Standing) {}

  reset(): void {
    this.posts = new Map();
    this.byClientId = new Map();
    this.highest = 0;
    this.texts.clear();
  }

  apply(event: EventEnvelope): void {
    this.highest = Math.max(this.highest, event.lamport);
    const level = this.standing.levelOf(event.author);
    if (!isActiveMember(level)) return; // V1
    if (event.event_type === 'market.post.created') this.created(event);
    else if (event.event_type === 'market.post.updated') this.updated(event);
    else if (event.event_type === 'market.post.expired') this.expired(event, level);
  }

  private created(event: EventEnvelope): void {
    const draft = checkPostDraft(event.data, 'data');
    if (!draft.ok) return;
    const key = clientKey(event.author, draft.value.client_id);
    const createdMs = parseRfc3339(event.wall_clock);
    if (this.byClientId.has(key) || this.posts.has(event.event_id) || Number.isNaN(createdMs)) return; // V2
    const { client_id, category, title, body, location, tags, ttl_seconds } = draft.value;
    this.posts.set(event.event_id, {
      event_id: event.event_id,
      lamport: event.lamport,
      author: event.author,
      category,
      title,
      body,
      location,
      tags,
      created_at: event.wall_clock,
      expires_at: rfc3339(createdMs + ttl_seconds * 1000),
      client_id,
      last_lamport: event.lamport,
      expired_via_event_id: null,
      expired_lamport: null,
      expiry_reason: null
    });
    this.byClientId.set(key, event.event_id);
  }

  private updated(event: EventEnvelope): void {
    const post = this.posts.get(str(event.data.target_event_id) ?? '');
    if (!post || post.author !== event.author || post.expired_via_event_id !== null) return; // V3
    const fields = checkPostUpdate(event.data.fields, 'data.fields');
    if (!fields.ok) return;
    Object.assign(post, fields.value);
    post.last_lamport = event.lamport;
    this.texts.delete(post.event_id);
  }

  private expired(event: EventEnvelope, level: CallerLevel): void {
    const post = this.posts.get(str(event.data.target_event_id) ?? '');
    const reason = str(event.data.reason) as ExpiryReason | null;
    if (!post || post.expired_via_event_id !== null || reason === null || !EXPIRY_REASONS.includes(reason)) return; // V4
    if (!mayExpire(event.author, level, post.author, reason)) return;
    post.expired_via_event_id = event.event_id;
    post.expired_lamport = event.lamport;
    post.expiry_reason = reason;
    post.last_lamport = event.lamport;
  }

  /** The highest Lamport value of any market event seen, counted or not: where a delta sync can resume. */
  get maxLamport(): number {
    return this.highest;
  }

  /** Any post, expired or not, with its bookkeeping. */
  get(eventId: string): PostRecord | undefined {
    const post = this.posts.get(eventId);
    return post && copy(post);
  }

  /** The post (author, clientId) created, if its created event counted (V2). */
  findByClientId(author: string, clientId: string): PostRecord | undefined {
    const id = this.byClientId.get(clientKey(author, clientId));
    return id === undefined ? undefined : this.get(id);
  }

  isActive(post: PostRecord, nowMs: number): boolean {
    return post.expired_via_event_id === null && parseRfc3339(post.expires_at) > nowMs; // V5
  }

  list(query: ListQuery, nowMs: number): Post[] {
    const limit = Math.min(LIST_MAX_LIMIT, Math.max(1, Math.floor(query.limit ?? LIST_DEFAULT_LIMIT)));
    const wanted = query.tags ? normaliseTags(query.tags, 'tags') : { ok: true as const, value: [] };
    if (!wanted.ok || (query.category !== undefined && !CATEGORIES.includes(query.category))) return [];
    const since = query.since_lamport ?? 0;
    return [...this.posts.values()]
      .filter(
        (post) =>
          this.isActive(post, nowMs) &&
          post.last_lamport > since &&
          (query.category === undefined || post.category === query.category) &&
          wanted.value.every((tag) => post.tags.includes(tag))
      )
      .sort(newestFirst)
      .slice(0, limit)
      .map(publicPost);
  }

  /** Active posts ranked by lexical score (search.ts); posts that match nothing are left out. */
  search(query: string, k: number, nowMs: number): ScoredPost[] {
    return this.scored(query, nowMs)
      .filter(({ score }) => score > 0)
      .slice(0, Math.max(0, k))
      .map(({ post, score }) => ({ ...publicPost(post), score }));
  }

  /** Every active post with its lexical score, 0 when it matches nothing, in `search`'s order: what hybrid search fuses. */
  lexicalRanking(query: string, nowMs: number): ScoredPost[] {
    return this.scored(query, nowMs).map(({ post, score }) => ({ ...publicPost(post), score }));
  }

  /** Best first; equal scores newest first. */
  private scored(query: string, nowMs: number): { post: PostRecord; score: number }[] {
    const terms = tokenise(query);
    const scored: { post: PostRecord; score: number }[] = [];
    for (const post of this.posts.values()) {
      if (!this.isActive(post, nowMs)) continue;
      let text = this.texts.get(post.event_id);
      if (!text) this.texts.set(post.event_id, (text = searchableText(post)));
      scored.push({ post, score: lexicalScore(terms, text) });
    }
    return scored.sort((a, b) => b.score - a.score || newestFirst(a.post, b.post));
  }

  /** Posts past expires_at that no event has expired yet, oldest first: the sweeper's work (M06 §4.2). */
  dueForSweep(nowMs: number): PostRecord[] {
    return [...this.posts.values()]
      .filter((post) => post.expired_via_event_id === null && parseRfc3339(post.expires_at) <= nowMs)
      .sort(compareEvents)
      .map(copy);
  }

  snapshotState(): MarketState {
    return { version: 1, max_lamport: this.highest, posts: [...this.posts.values()].sort(compareEvents).map(copy) };
  }

  restoreState(state: MarketState): void {
    if (state?.version !== 1 || !Array.isArray(state.posts) || typeof state.max_lamport !== 'number') {
      throw new Error('market view: not a version 1 market snapshot');
    }
    this.reset();
    this.highest = state.max_lamport;
    for (const post of state.posts.map(copy)) {
      this.posts.set(post.event_id, post);
      this.byClientId.set(clientKey(post.author, post.client_id), post.event_id);
    }
  }
}

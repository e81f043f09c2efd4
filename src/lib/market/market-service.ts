/**
 * market.list, .post, .expire and .search (contract §4.11–4.14, M06 §3.3). The service never writes posts: it
 * appends events to this node's log and reads the view, which the replay engine keeps up to date (M06 §4.1).
 *
 * Trust. The contract lists all four at "member". market.post and market.expire are registered "self" here: an
 * event is signed by the node that appends it, so a member calling market.post on a neighbour would make the
 * neighbour the author — the post would carry the wrong name, the caller could never update or expire it (author
 * only), and any member could make any node vouch for any text. Each node therefore posts through its own log;
 * a person's UI talks to their own node. Reading (list, search) is open to every member.
 *
 * Search. With `embed`, market.search ranks by words and meaning together (hybrid-search.ts) and says so in
 * `meta.mode: 'hybrid'` with `meta.embedding_model`; without it, or whenever embedding fails, by words alone
 * (`meta.mode: 'lexical'`, M06 §5's fallback) — a search never fails because the embedder did.
 */
import { HearthError, type Clock } from '../core/index.js';
import type { CallerLevel, CapabilityRegistration } from '../bus/index.js';
import type { EventEnvelope, EventType } from '../events/index.js';
import type { EmbedFn } from '../rag/ports.js';
import { HybridRanker } from './hybrid-search.js';
import { LIST_MAX_LIMIT, type ListQuery, type MarketView } from './market-view.js';
import { CATEGORIES, CLIENT_ID_MAX_CHARS, EXPIRY_REASONS, charCount, checkPostDraft, mayExpire, normaliseTags, orBadRequest } from './post.js';
import type { Category, ExpiryReason } from './post.js';
import { MARKET_EXPIRE_SCHEMAS, MARKET_LIST_SCHEMAS, MARKET_POST_SCHEMAS, MARKET_SEARCH_SCHEMAS } from './schemas.js';

export const MARKET_VERSION = '1.0';
export const SEARCH_DEFAULT_K = 10;
export const SEARCH_MAX_K = 100;
export const SEARCH_QUERY_MAX_CHARS = 500;
/** Settled appends remembered until the view shows them (it normally does before `append` resolves). */
const RECENT_APPENDS_MAX = 1024;

export interface MarketDeps {
  view: MarketView;
  /** Signs and stores one of this node's events (EventLog.append). */
  append(eventType: EventType, data: Record<string, unknown>): Promise<EventEnvelope>;
  /** A node's community level at the head of the log — the view's standing, not the bus's "self". */
  levelOf(nodeId: string): CallerLevel;
  clock: Clock;
  selfId: string;
  /** Texts → vectors (an `embed.text` call, or a local embedder); without it market.search is lexical only. */
  embed?: EmbedFn;
  log?: (level: 'warn' | 'info', message: string, fields?: Record<string, unknown>) => void;
}

export interface Appended {
  event_id: string;
  lamport: number;
}

/**
 * One append per key: a second call while the first runs shares its result, and a call after it returns that
 * result even when the view has not applied the event yet. `known` asks the view first.
 */
export class AppendOnce {
  private readonly running = new Map<string, Promise<Appended>>();
  private readonly recent = new Map<string, Appended>();

  run(key: string, known: () => Appended | undefined, append: () => Promise<Appended>): Promise<Appended> {
    const seen = known();
    if (seen) {
      this.recent.delete(key);
      return Promise.resolve(seen);
    }
    const earlier = this.recent.get(key) ?? this.running.get(key);
    if (earlier) return Promise.resolve(earlier);
    const work = append()
      .then((done) => {
        this.recent.set(key, done);
        if (this.recent.size > RECENT_APPENDS_MAX) this.recent.delete(this.recent.keys().next().value!);
        return done;
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, work);
    return work;
  }
}

const appended = (event: EventEnvelope): Appended => ({ event_id: event.event_id, lamport: event.lamport });

function inputOf(body: unknown): Record<string, unknown> {
  const input = (body as { input?: unknown } | null)?.input;
  return input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
}

function bad(capability: string, problem: string): never {
  throw new HearthError('bad_request', `${capability}: ${problem}`);
}

function wholeNumber(value: unknown, capability: string, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad(capability, `input.${field} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** This node may only write to the marketplace while the community counts it (V1); otherwise its events vanish. */
function requireStanding(deps: MarketDeps, capability: string): CallerLevel {
  const level = deps.levelOf(deps.selfId);
  if (level === 'revoked') throw new HearthError('revoked', `${capability}: this node is revoked in the community`);
  if (level === 'none') throw new HearthError('unauthorized', `${capability}: this node is not a member of the community`);
  return level;
}

export function parseListQuery(body: unknown): ListQuery {
  const { category, tags, since_lamport, limit } = inputOf(body);
  if (category !== undefined && !(CATEGORIES as readonly unknown[]).includes(category)) {
    bad('market.list', `input.category must be one of ${CATEGORIES.join(', ')}`);
  }
  const query: ListQuery = {};
  if (category !== undefined) query.category = category as Category;
  if (tags !== undefined) query.tags = orBadRequest(normaliseTags(tags, 'input.tags'), 'market.list');
  query.since_lamport = wholeNumber(since_lamport, 'market.list', 'since_lamport', 0, Number.MAX_SAFE_INTEGER);
  query.limit = wholeNumber(limit, 'market.list', 'limit', 1, LIST_MAX_LIMIT);
  return query;
}

export function marketCapabilities(deps: MarketDeps): CapabilityRegistration[] {
  const { view, clock, selfId } = deps;
  const once = new AppendOnce();
  const common = { version: MARKET_VERSION, owner: 'market', stability: 'stable', idempotent: true } as const;

  const list: CapabilityRegistration = {
    ...common,
    ...MARKET_LIST_SCHEMAS,
    name: 'market.list',
    trustRequired: 'member',
    maxConcurrent: 8,
    timeoutSeconds: 5,
    handler(body) {
      const started = clock.now();
      const posts = view.list(parseListQuery(body), started);
      return { output: { posts, max_lamport: view.maxLamport }, meta: { ms: clock.now() - started } };
    }
  };

  const post: CapabilityRegistration = {
    ...common,
    ...MARKET_POST_SCHEMAS,
    name: 'market.post',
    trustRequired: 'self',
    maxConcurrent: 4,
    timeoutSeconds: 10,
    async handler(body) {
      const started = clock.now();
      const draft = orBadRequest(checkPostDraft(inputOf(body)), 'market.post');
      requireStanding(deps, 'market.post');
      const { location, ...rest } = draft;
      const data: Record<string, unknown> = location === null ? rest : { ...rest, location };
      const output = await once.run(
        `post\n${draft.client_id}`,
        () => view.findByClientId(selfId, draft.client_id),
        async () => appended(await deps.append('market.post.created', data))
      );
      return { output: { event_id: output.event_id, lamport: output.lamport }, meta: { ms: clock.now() - started } };
    }
  };

  const expire: CapabilityRegistration = {
    ...common,
    ...MARKET_EXPIRE_SCHEMAS,
    name: 'market.expire',
    trustRequired: 'self',
    maxConcurrent: 4,
    timeoutSeconds: 5,
    async handler(body) {
      const started = clock.now();
      const output = await expirePost(deps, once, inputOf(body));
      return { output, meta: { ms: clock.now() - started } };
    }
  };

  const hybrid = deps.embed && new HybridRanker(deps.embed);
  let embedFailing = false;
  const search: CapabilityRegistration = {
    ...common,
    ...MARKET_SEARCH_SCHEMAS,
    name: 'market.search',
    trustRequired: 'member',
    maxConcurrent: 4,
    timeoutSeconds: 10,
    async handler(body) {
      const started = clock.now();
      const { query, k: givenK } = inputOf(body);
      if (typeof query !== 'string' || query.trim() === '' || charCount(query) > SEARCH_QUERY_MAX_CHARS) {
        bad('market.search', `input.query must be 1 to ${SEARCH_QUERY_MAX_CHARS} characters`);
      }
      const k = wholeNumber(givenK, 'market.search', 'k', 1, SEARCH_MAX_K) ?? SEARCH_DEFAULT_K;
      if (hybrid) {
        try {
          const { model, posts } = await hybrid.rank(query, view.lexicalRanking(query, started), k);
          if (embedFailing) deps.log?.('info', 'market.search: embedding works again; searching by meaning too', { model });
          embedFailing = false;
          const meta = { ms: clock.now() - started, mode: 'hybrid', embedding_model: model };
          return { output: { posts, max_lamport: view.maxLamport }, meta };
        } catch (err) {
          // Logged once per run of failures, not once per search.
          if (!embedFailing) deps.log?.('warn', 'market.search: embedding failed; searching by words only', { error: HearthError.from(err).message });
          embedFailing = true;
        }
      }
      const posts = view.search(query, k, started);
      return { output: { posts, max_lamport: view.maxLamport }, meta: { ms: clock.now() - started, mode: 'lexical' } };
    }
  };

  return [list, post, expire, search];
}

/** Authorisation first, then idempotency: an already expired post answers with the expiry that counted. */
function expirePost(deps: MarketDeps, once: AppendOnce, input: Record<string, unknown>): Promise<Appended> {
  const { event_id: target, reason, client_id: clientId } = input;
  if (typeof target !== 'string' || target === '') bad('market.expire', 'input.event_id must be the id of a post');
  if (!(EXPIRY_REASONS as readonly unknown[]).includes(reason)) bad('market.expire', `input.reason must be one of ${EXPIRY_REASONS.join(', ')}`);
  if (clientId !== undefined && (typeof clientId !== 'string' || clientId === '' || charCount(clientId) > CLIENT_ID_MAX_CHARS)) {
    bad('market.expire', `input.client_id must be 1 to ${CLIENT_ID_MAX_CHARS} characters`);
  }
  const post = deps.view.get(target);
  if (!post) throw new HearthError('not_found', `market.expire: no post ${target} here`);
  const level = requireStanding(deps, 'market.expire');
  if (!mayExpire(deps.selfId, level, post.author, reason as ExpiryReason)) {
    throw new HearthError('unauthorized', `market.expire: only the author may expire post ${target} as "${reason}"; trusted members only as "stale"`);
  }
  return once.run(
    `expire\n${target}`,
    () => {
      const now = deps.view.get(target);
      return now?.expired_via_event_id ? { event_id: now.expired_via_event_id, lamport: now.expired_lamport! } : undefined;
    },
    async () => {
      const data = { client_id: (clientId as string | undefined) ?? `expire:${target}`, target_event_id: target, reason: reason as string };
      return appended(await deps.append('market.post.expired', data));
    }
  );
}

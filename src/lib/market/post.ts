/**
 * The marketplace's domain (M06 §3.1, contract §4.12, §7.2): what a post is, the checks its fields pass, and who may
 * end it. The same checks run twice: in `market.post`, where a failure is the caller's `bad_request`, and in the
 * view, where a peer's event that fails them is ignored. So every node agrees on which posts exist.
 */
import { HearthError } from '../core/index.js';
import type { CallerLevel } from '../bus/index.js';

export const CATEGORIES = ['offer', 'request', 'info', 'emergency'] as const;
export type Category = (typeof CATEGORIES)[number];

export const EXPIRY_REASONS = ['fulfilled', 'withdrawn', 'user_request', 'stale'] as const;
export type ExpiryReason = (typeof EXPIRY_REASONS)[number];

export const TITLE_MAX_CHARS = 120;
export const BODY_MAX_CHARS = 4000;
export const TAGS_MAX = 10;
export const TAG_MAX_CHARS = 32;
export const LABEL_MAX_CHARS = 120;
export const CLIENT_ID_MAX_CHARS = 128;
export const DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;

export interface Location {
  lat: number;
  lng: number;
  label: string;
}

/** The fields an author chooses; `market.post.updated` may change any of them. */
export interface PostFields {
  category: Category;
  title: string;
  body: string;
  location: Location | null;
  tags: string[];
}

/** What `market.post` takes and what a `market.post.created` event carries. */
export interface PostDraft extends PostFields {
  client_id: string;
  ttl_seconds: number;
}

/** A post as `market.list` returns it (contract §4.11). */
export interface Post extends PostFields {
  event_id: string;
  lamport: number;
  author: string;
  created_at: string;
  expires_at: string;
}

export const UPDATABLE_FIELDS = ['category', 'title', 'body', 'location', 'tags'] as const;

type Result<T> = { ok: true; value: T } | { ok: false; problem: string };
const fail = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });

/** Characters as people count them (code points), which is also what JSON Schema's maxLength counts. */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Lowercase and trimmed, so "Wasser " and "wasser" are one tag; duplicates after that are dropped. */
export function normaliseTags(value: unknown, where: string): Result<string[]> {
  if (!Array.isArray(value)) return fail(`${where} must be an array of strings`);
  if (value.length > TAGS_MAX) return fail(`${where} has ${value.length} tags; at most ${TAGS_MAX}`);
  const tags: string[] = [];
  for (const [i, raw] of value.entries()) {
    if (typeof raw !== 'string') return fail(`${where}[${i}] must be a string`);
    const tag = raw.normalize('NFC').trim().toLowerCase();
    if (tag === '' || charCount(tag) > TAG_MAX_CHARS) return fail(`${where}[${i}] must be 1 to ${TAG_MAX_CHARS} characters`);
    if (!tags.includes(tag)) tags.push(tag);
  }
  return { ok: true, value: tags };
}

function checkLocation(value: unknown, where: string): Result<Location | null> {
  if (value === undefined || value === null) return { ok: true, value: null };
  if (!isRecord(value)) return fail(`${where} must be an object {lat, lng, label}`);
  const { lat, lng, label = '' } = value;
  if (typeof lat !== 'number' || !Number.isFinite(lat) || lat < -90 || lat > 90) return fail(`${where}.lat must be a number from -90 to 90`);
  if (typeof lng !== 'number' || !Number.isFinite(lng) || lng < -180 || lng > 180) return fail(`${where}.lng must be a number from -180 to 180`);
  if (typeof label !== 'string' || charCount(label) > LABEL_MAX_CHARS) return fail(`${where}.label must be a string of at most ${LABEL_MAX_CHARS} characters`);
  return { ok: true, value: { lat, lng, label: label.trim() } };
}

/** One author-chosen field; `where` names it in the message ("input.title", "fields.title"). */
function checkField(key: (typeof UPDATABLE_FIELDS)[number], value: unknown, where: string): Result<unknown> {
  switch (key) {
    case 'category':
      return (CATEGORIES as readonly unknown[]).includes(value) ? { ok: true, value } : fail(`${where} must be one of ${CATEGORIES.join(', ')}`);
    case 'title': {
      const title = typeof value === 'string' ? value.trim() : null;
      if (title === null || title === '' || charCount(title) > TITLE_MAX_CHARS) return fail(`${where} must be 1 to ${TITLE_MAX_CHARS} characters`);
      return { ok: true, value: title };
    }
    case 'body':
      if (typeof value !== 'string' || charCount(value) > BODY_MAX_CHARS) return fail(`${where} must be a string of at most ${BODY_MAX_CHARS} characters`);
      return { ok: true, value };
    case 'location':
      return checkLocation(value, where);
    case 'tags':
      return normaliseTags(value, where);
  }
}

/**
 * A new post: `market.post`'s input or a created event's data. Optional parts get their defaults here, so the event
 * our node signs is explicit and every view reads the same values from it.
 */
export function checkPostDraft(value: unknown, prefix = 'input'): Result<PostDraft> {
  if (!isRecord(value)) return fail(`${prefix} must be an object`);
  const { client_id: clientId, ttl_seconds: ttl = DEFAULT_TTL_SECONDS } = value;
  if (typeof clientId !== 'string' || clientId === '' || charCount(clientId) > CLIENT_ID_MAX_CHARS) {
    return fail(`${prefix}.client_id must be 1 to ${CLIENT_ID_MAX_CHARS} characters`);
  }
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    return fail(`${prefix}.ttl_seconds must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS} (30 days)`);
  }
  const draft: Record<string, unknown> = { client_id: clientId, ttl_seconds: ttl };
  const defaults: Record<string, unknown> = { body: '', tags: [], location: null };
  for (const key of UPDATABLE_FIELDS) {
    const checked = checkField(key, value[key] ?? defaults[key], `${prefix}.${key}`);
    if (!checked.ok) return checked;
    draft[key] = checked.value;
  }
  return { ok: true, value: draft as unknown as PostDraft };
}

/** The `fields` of an update: only the author-chosen ones; any other key makes the whole update invalid. */
export function checkPostUpdate(value: unknown, prefix = 'fields'): Result<Partial<PostFields>> {
  if (!isRecord(value)) return fail(`${prefix} must be an object`);
  const fields: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (!(UPDATABLE_FIELDS as readonly string[]).includes(key)) return fail(`${prefix}.${key} cannot be updated`);
    const checked = checkField(key as (typeof UPDATABLE_FIELDS)[number], raw, `${prefix}.${key}`);
    if (!checked.ok) return checked;
    fields[key] = checked.value;
  }
  return { ok: true, value: fields as Partial<PostFields> };
}

/** For handlers: the checked value, or bad_request carrying the problem. */
export function orBadRequest<T>(result: Result<T>, capability: string): T {
  if (!result.ok) throw new HearthError('bad_request', `${capability}: ${result.problem}`);
  return result.value;
}

/**
 * Who may end a post (M06 §4.4, contract §7.2). The author, for any reason. Anyone else only with "stale", and only
 * when trusted or anchor: "fulfilled", "withdrawn" and "user_request" are statements only the author can make, so a
 * moderator saying them would speak for someone else. (§7.2 would also let a moderator use "fulfilled" and
 * "withdrawn"; M06 §4.4 does not, and we follow the narrower rule.)
 *
 * `level` is the actor's community level. "self" is the bus's word for "this node", not a community level: a view
 * must not depend on which node replays it, so "self" counts as a plain member here.
 */
export function mayExpire(actor: string, level: CallerLevel, postAuthor: string, reason: ExpiryReason): boolean {
  if (level === 'none' || level === 'revoked') return false;
  if (actor === postAuthor) return true;
  return reason === 'stale' && (level === 'trusted' || level === 'anchor');
}

/** A community level that lets a node's events count at all. */
export function isActiveMember(level: CallerLevel): boolean {
  return level !== 'none' && level !== 'revoked';
}

/**
 * The Marketplace page's side of market.* (contract §4.11–4.14): post shapes, limits mirrored for early feedback
 * (the node checks them again), and one call helper. Posts go through this device's own node (`node` = own id):
 * a post is signed by the node that appends it, so it must be ours.
 */
import type { NodeClient } from '$lib/client/node-client';
import { settle, type Failure } from '$lib/ui/community/format';

export const CATEGORIES = ['offer', 'request', 'info', 'emergency'] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_LABEL: Readonly<Record<Category, string>> = {
  offer: 'Offer',
  request: 'Request',
  info: 'Info',
  emergency: 'Emergency'
};

export const CATEGORY_HINT: Readonly<Record<Category, string>> = {
  offer: 'Something you can give, lend or do',
  request: 'Something you need',
  info: 'News for the neighbourhood',
  emergency: 'Urgent: safety, health, water, power'
};

export const TITLE_MAX_CHARS = 120;
export const BODY_MAX_CHARS = 4000;
export const TAGS_MAX = 10;
export const TAG_MAX_CHARS = 32;
export const LABEL_MAX_CHARS = 120;
export const VALIDITY_DAYS = [1, 2, 3, 7, 14, 30] as const;
export const LIST_LIMIT = 200;
export const SEARCH_K = 50;
const MARKET_VERSION = '1.0';

export interface PostLocation {
  lat: number;
  lng: number;
  label: string;
}

export interface MarketPost {
  event_id: string;
  lamport: number;
  author: string;
  category: Category;
  title: string;
  body: string;
  location: PostLocation | null;
  tags: string[];
  created_at: string;
  expires_at: string;
  /** market.search only: similarity to the query. */
  score?: number;
}

export interface PostList {
  posts: MarketPost[];
  max_lamport: number;
}

export const charCount = (text: string): number => [...text].length;

/** "Wasser, notfall ,, Kanister" → ["wasser", "notfall", "kanister"]: the node's normalisation, done early. */
export function parseTags(text: string): string[] {
  const tags: string[] = [];
  for (const raw of text.split(',')) {
    const tag = raw.normalize('NFC').trim().toLowerCase();
    if (tag && !tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/** Why these tags would be refused, or null. */
export function tagsProblem(tags: readonly string[]): string | null {
  if (tags.length > TAGS_MAX) return `At most ${TAGS_MAX} tags (${tags.length} given).`;
  const long = tags.find((t) => charCount(t) > TAG_MAX_CHARS);
  return long ? `Tag “${long.slice(0, 20)}…” is longer than ${TAG_MAX_CHARS} characters.` : null;
}

/** One market.* call to this device's node; the answer's `output`, or the wire error. */
export async function callMarket<T>(
  client: NodeClient,
  ownNodeId: string,
  capability: 'market.list' | 'market.search' | 'market.post' | 'market.expire',
  input: Record<string, unknown>
): Promise<{ ok: true; output: T } | Failure> {
  const outcome = await settle(() => client.api()?.callCapability({ capability, version: MARKET_VERSION, node: ownNodeId, body: { input } }));
  if (!outcome.ok) return outcome;
  const output = (outcome.result as { output?: unknown } | null)?.output;
  if (output === undefined || output === null) {
    return { ok: false, error: { error: 'internal_error', message: `${capability} answered without an output` } };
  }
  return { ok: true, output: output as T };
}

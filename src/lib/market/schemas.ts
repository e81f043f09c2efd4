/**
 * Request and response schemas of market.list, .post, .expire and .search (contract §4.11–4.14), in the
 * `{params, input}` → `{output, meta?}` shape every capability uses.
 *
 * The request schemas state shapes and types only. Bounds (lengths, ranges, the TTL limit) are checked by the
 * handlers, because the bus answers a schema failure with `schema_mismatch` ("your version differs"), while M06 §6
 * and the contract want `bad_request` naming the field ("fix this value").
 */
import { CATEGORIES } from './post.js';

const str = { type: 'string' };
const int = { type: 'integer' };
const num = { type: 'number' };
const tags = { type: 'array', items: str };
const location = { type: 'object', required: ['lat', 'lng'], properties: { lat: num, lng: num, label: str } };

function request(input: Record<string, unknown>) {
  return { type: 'object', required: ['input'], properties: { params: { type: 'object' }, input } };
}

function response(output: Record<string, unknown>) {
  return { type: 'object', required: ['output'], properties: { output, meta: { type: 'object' } } };
}

const post = {
  type: 'object',
  required: ['event_id', 'lamport', 'author', 'category', 'title', 'body', 'location', 'tags', 'created_at', 'expires_at'],
  properties: {
    event_id: str,
    lamport: int,
    author: str,
    category: { enum: CATEGORIES },
    title: str,
    body: str,
    location: { anyOf: [location, { type: 'null' }] },
    tags,
    created_at: str,
    expires_at: str,
    score: num
  }
};

const posts = { type: 'object', required: ['posts', 'max_lamport'], properties: { posts: { type: 'array', items: post }, max_lamport: int } };
const appended = { type: 'object', required: ['event_id', 'lamport'], properties: { event_id: str, lamport: int } };

export const MARKET_LIST_SCHEMAS = {
  requestSchema: request({ type: 'object', properties: { category: str, tags, since_lamport: int, limit: int } }),
  responseSchema: response(posts)
};

export const MARKET_POST_SCHEMAS = {
  requestSchema: request({
    type: 'object',
    required: ['client_id', 'category', 'title'],
    properties: { client_id: str, category: str, title: str, body: str, location: { anyOf: [location, { type: 'null' }] }, tags, ttl_seconds: int }
  }),
  responseSchema: response(appended)
};

export const MARKET_EXPIRE_SCHEMAS = {
  requestSchema: request({
    type: 'object',
    required: ['event_id', 'reason'],
    properties: { client_id: str, event_id: str, reason: str }
  }),
  responseSchema: response(appended)
};

export const MARKET_SEARCH_SCHEMAS = {
  requestSchema: request({ type: 'object', required: ['query'], properties: { query: str, k: int } }),
  responseSchema: response(posts)
};

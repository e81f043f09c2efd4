/**
 * The bridge's community endpoints (PROTOCOL.md B9): `POST /bridge/community/join` hands the bridge an invite so it
 * keeps a durable replica, `GET /bridge/community` lists what it holds. The app may be served from another origin
 * (DESIGN §4), so both answer CORS preflights; errors are contract errors with §5.5 statuses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HearthError } from '../src/lib/core/index.js';
import { sendPreflight } from './cors.js';
import type { CommunitySummary } from './community-member.js';
import type { JoinAnswer } from './community-registry.js';

export const COMMUNITY_PATH = '/bridge/community';
export const COMMUNITY_JOIN_PATH = '/bridge/community/join';
/** An invite is at most 4 KiB (invite-blob.ts); this leaves room for the JSON around it and a join link's origin. */
export const MAX_JOIN_BODY_BYTES = 8 * 1024;

export interface CommunityRoutes {
  join(invite: unknown): Promise<JoinAnswer>;
  list(): CommunitySummary[];
}

type SendJson = (res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;

export const isCommunityPath = (path: string): boolean => path === COMMUNITY_PATH || path === COMMUNITY_JOIN_PATH;

/** Reads at most `limit` bytes of body; a larger one is refused without reading the rest. */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HearthError('bad_request', `the body is ${declared} bytes; the limit is ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HearthError('bad_request', `the body is over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function handleCommunityRequest(path: string, req: IncomingMessage, res: ServerResponse, routes: CommunityRoutes, sendJson: SendJson): Promise<void> {
  const fail = (error: HearthError, headers?: Record<string, string>) => sendJson(res, error.httpStatus, error.toWire(), headers);
  if (req.method === 'OPTIONS') return sendPreflight(req, res, { methods: 'GET, POST, OPTIONS', headers: 'content-type' });
  if (path === COMMUNITY_PATH) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, new HearthError('bad_request', `${req.method} is not allowed here`).toWire(), { Allow: 'GET, HEAD, OPTIONS' });
    return sendJson(res, 200, routes.list());
  }
  if (req.method !== 'POST') return sendJson(res, 405, new HearthError('bad_request', 'send the invite with POST').toWire(), { Allow: 'POST, OPTIONS' });
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req, MAX_JOIN_BODY_BYTES));
  } catch (err) {
    return fail(err instanceof HearthError ? err : new HearthError('bad_request', 'the body must be JSON: {"invite": "<invite blob or join link>"}'));
  }
  if (!body || typeof body !== 'object' || typeof (body as { invite?: unknown }).invite !== 'string') {
    return fail(new HearthError('bad_request', 'the body must be {"invite": "<invite blob or join link>"}'));
  }
  try {
    return sendJson(res, 200, await routes.join((body as { invite: string }).invite));
  } catch (err) {
    if (!(err instanceof HearthError)) throw err; // a bug or a failing disk: logged by http.ts, answered internal_error
    return fail(err);
  }
}

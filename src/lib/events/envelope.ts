/**
 * The community log's event envelope (contract §7.1): `{schema_version, event_id, lamport, wall_clock,
 * community_id, author, event_type, data}` signed by the author's device key over its canonical JSON. An event is
 * size-checked, shape-checked and signature-checked before anything stores or applies it; a refusal says why.
 */
import {
  HearthError,
  canonicalJson,
  checkShape,
  rfc3339,
  signPayload,
  utf8Encode,
  verifyPayload,
  type KeyPair
} from '../core/index.js';

export const EVENT_SCHEMA_VERSION = 1;
/**
 * Canonical bytes of one signed event. Events travel many to a frame during sync (frames are at most 64 KiB), so one
 * event stays well below it; a marketplace post or a message is text, and files travel as blobs, not events.
 */
export const MAX_EVENT_BYTES = 16 * 1024;

/** Contract §7.2 and X02 §3.1. `federation.*` are reserved: refused until federation exists. */
export const EVENT_TYPES = [
  'community.created',
  'community.member.invited',
  'community.member.joined',
  'community.member.revoked',
  'community.member.promoted',
  'community.member.demoted',
  'community.policy.updated',
  'node.manifest.updated',
  'market.post.created',
  'market.post.updated',
  'market.post.expired',
  'chat.message.sent',
  'chat.message.delivered',
  'chat.message.read',
  'file.cid.advertised',
  'file.cid.unpinned',
  'rag.document.ingested'
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventEnvelope {
  schema_version: number;
  event_id: string;
  lamport: number;
  wall_clock: string;
  community_id: string;
  author: string;
  event_type: EventType;
  data: Record<string, unknown>;
  signature: string;
}

export interface EventDraft {
  eventId: string;
  lamport: number;
  wallClockMs: number;
  communityId: string;
  eventType: EventType;
  data: Record<string, unknown>;
}

/** Signs a new event by `keyPair`; throws bad_request when it would be refused by every receiver. */
export async function signEvent(keyPair: KeyPair, draft: EventDraft): Promise<EventEnvelope> {
  const unsigned = {
    schema_version: EVENT_SCHEMA_VERSION,
    event_id: draft.eventId,
    lamport: draft.lamport,
    wall_clock: rfc3339(draft.wallClockMs),
    community_id: draft.communityId,
    author: keyPair.nodeId,
    event_type: draft.eventType,
    data: draft.data
  };
  const event = (await signPayload(unsigned, keyPair)) as EventEnvelope;
  const problem = shapeProblem(event);
  if (problem) throw new HearthError('bad_request', `event not signed: ${problem}`);
  return event;
}

function shapeProblem(event: unknown): string | null {
  const shape = checkShape('eventEnvelope', event);
  if (shape) return shape;
  const type = (event as { event_type: string }).event_type;
  if (!(EVENT_TYPES as readonly string[]).includes(type)) return `unknown event_type ${JSON.stringify(type)}`;
  let bytes: number;
  try {
    bytes = utf8Encode(canonicalJson(event)).length;
  } catch (err) {
    return `not canonical JSON: ${(err as Error).message}`;
  }
  if (bytes > MAX_EVENT_BYTES) return `${bytes} bytes, over the ${MAX_EVENT_BYTES}-byte limit`;
  return null;
}

export type EventCheck = { ok: true; event: EventEnvelope } | { ok: false; code: 'bad_request' | 'invalid_signature'; reason: string };

/**
 * Everything a receiver checks before storing: shape (ajv), size, canonical form, and the author's signature.
 * `communityId`, when given, must match. Membership and trust are the community's business, checked on apply.
 */
export async function checkEvent(candidate: unknown, communityId?: string): Promise<EventCheck> {
  const problem = shapeProblem(candidate);
  if (problem) return { ok: false, code: 'bad_request', reason: problem };
  const event = candidate as EventEnvelope;
  if (communityId !== undefined && event.community_id !== communityId) {
    return { ok: false, code: 'bad_request', reason: `event ${event.event_id} belongs to another community` };
  }
  if (!(await verifyPayload(event, event.author))) {
    return { ok: false, code: 'invalid_signature', reason: `event ${event.event_id} is not signed by its author` };
  }
  return { ok: true, event };
}

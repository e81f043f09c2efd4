/**
 * The invite that travels by QR code or link (contract §4.17 `invite_blob`, M13 §3.1, DESIGN §3.9).
 *
 * Two forms share one codec:
 * - addressed: made for a device whose NodeID the inviter already knows (`invitee_node_id`);
 * - one-scan: for a fresh device. The invite carries a single-use invite secret, a 32-byte Ed25519 seed; its
 *   public half is the `invitee_node_id` recorded in the `community.member.invited` event, and the new device
 *   proves it holds the secret by signing with it (invite-proof.ts).
 *
 * On the wire the invite is a compact signed object with one-letter keys, so the QR code stays small:
 *   {v:1, c: community_id, n: community_name, f: inviter, t: invitee_node_id, l: initial_level, x: expires_at,
 *    e: invite event id, b: bootstrap URLs, k?: invite secret (one-scan only), s: inviter's signature}
 * `s` is Ed25519 by `f` over the canonical JSON of everything else. The text form is
 * `"ed25519:" + base64url-nopad(utf8(canonicalJson(object)))`. Programs use the named fields of `Invite`.
 */
import {
  base64UrlDecode,
  base64UrlEncode,
  canonicalJson,
  decodeSignature,
  HearthError,
  isFullNodeId,
  isUlid,
  keyPairFromSeed,
  parseNodeId,
  parseRfc3339,
  randomSeed,
  shortOf,
  signBytes,
  utf8Decode,
  utf8Encode,
  verifyEd25519,
  type KeyPair
} from '../core/index.js';

export const INVITE_VERSION = 1;
export const INVITE_PREFIX = 'ed25519:';
/** The M13 URI form, accepted when pasted or scanned. */
export const INVITE_URI_PREFIX = 'hearthnet://v1/';
/** Anything longer is not an invite; refused before decoding. */
export const MAX_INVITE_TEXT_BYTES = 4096;
export const MAX_COMMUNITY_NAME_CHARS = 64;
export const MAX_BOOTSTRAP_URLS = 4;
export const MAX_BOOTSTRAP_URL_CHARS = 256;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export type InviteLevel = 'member' | 'trusted';
/** M13 §6 reasons, carried in `HearthError.extra.reason` under the wire code. */
export type InviteProblem = 'invite_invalid' | 'invite_expired' | 'invitee_mismatch';

export interface InviteFields {
  community_id: string;
  community_name: string;
  invitee_node_id: string;
  initial_level: InviteLevel;
  /** RFC 3339 UTC. */
  expires_at: string;
  /** The `community.member.invited` event this invite redeems (ULID). */
  invite_event_id: string;
  /** Where to reach the community first, e.g. the bridge's https origin. */
  bootstrap: string[];
  /**
   * One-scan invites only: the single-use invite secret (32-byte Ed25519 seed), base64url. A bearer secret: whoever
   * holds it first may join, so never log it or send it anywhere but the invitee.
   */
  invite_secret?: string;
}

export interface Invite extends InviteFields {
  inviter_node_id: string;
  signature: string;
}

interface WireInvite {
  v: number;
  c: string;
  n: string;
  f: string;
  t: string;
  l: string;
  x: string;
  e: string;
  b: string[];
  k?: string;
  s: string;
}
const WIRE_KEYS = new Set(['v', 'c', 'n', 'f', 't', 'l', 'x', 'e', 'b', 'k', 's']);

export function inviteError(code: 'bad_request' | 'invalid_signature' | 'unauthorized' | 'expired', reason: InviteProblem, message: string): HearthError {
  return new HearthError(code, message, { extra: { reason } });
}

const RETRY_HINT = 'Copy the whole link again or scan the QR code again.';
const damaged = (what: string, hint = RETRY_HINT) => inviteError('bad_request', 'invite_invalid', `This invite cannot be used: ${what}. ${hint}`);

/** A fresh one-scan invite secret and the NodeID its public half gives (the invite's `invitee_node_id`). */
export async function newInviteSecret(seed: Uint8Array = randomSeed()): Promise<{ invite_secret: string; invitee_node_id: string }> {
  return { invite_secret: base64UrlEncode(seed), invitee_node_id: await secretNodeId(seed) };
}

async function secretNodeId(seed: Uint8Array): Promise<string> {
  return (await keyPairFromSeed(seed, { engine: 'noble' })).nodeId;
}

/** The 32-byte seed of a one-scan invite's secret, for proveInvite. */
export function inviteSecretSeed(invite: Pick<Invite, 'invite_secret'>): Uint8Array {
  if (invite.invite_secret === undefined) throw new HearthError('bad_request', 'this invite is addressed to one device and carries no invite secret');
  return base64UrlDecode(invite.invite_secret);
}

function toWire(invite: InviteFields & { inviter_node_id: string }): Omit<WireInvite, 's'> {
  const wire: Omit<WireInvite, 's'> = {
    v: INVITE_VERSION,
    c: invite.community_id,
    n: invite.community_name,
    f: invite.inviter_node_id,
    t: invite.invitee_node_id,
    l: invite.initial_level,
    x: invite.expires_at,
    e: invite.invite_event_id,
    b: [...invite.bootstrap]
  };
  if (invite.invite_secret !== undefined) wire.k = invite.invite_secret;
  return wire;
}

function fromWire(wire: WireInvite): Invite {
  const invite: Invite = {
    community_id: wire.c,
    community_name: wire.n,
    inviter_node_id: wire.f,
    invitee_node_id: wire.t,
    initial_level: wire.l as InviteLevel,
    expires_at: wire.x,
    invite_event_id: wire.e,
    bootstrap: [...wire.b],
    signature: wire.s
  };
  if (wire.k !== undefined) invite.invite_secret = wire.k;
  return invite;
}

/** The first thing wrong with the shape of a wire invite, in words, or null. Signature not checked here. */
function shapeProblem(w: Record<string, unknown>): string | null {
  const unknown = Object.keys(w).filter((key) => !WIRE_KEYS.has(key));
  if (unknown.length > 0) return `it has fields no HearthNet invite has (${unknown.join(', ')})`;
  if (w.v !== INVITE_VERSION) return `it is invite version ${JSON.stringify(w.v)} and this app reads version ${INVITE_VERSION}`;
  if (!isFullNodeId(w.c)) return 'the community id (c) is not a full NodeID';
  if (typeof w.n !== 'string' || w.n.trim().length === 0 || [...w.n].length > MAX_COMMUNITY_NAME_CHARS) {
    return `the community name (n) must be 1 to ${MAX_COMMUNITY_NAME_CHARS} characters`;
  }
  if (!isFullNodeId(w.f)) return "the inviter's NodeID (f) is not a full NodeID";
  if (!isFullNodeId(w.t)) return "the invited device's NodeID (t) is not a full NodeID";
  if (w.l !== 'member' && w.l !== 'trusted') return 'the level (l) must be "member" or "trusted"';
  if (Number.isNaN(parseRfc3339(w.x))) return 'the expiry time (x) is not an RFC 3339 UTC time';
  if (!isUlid(w.e)) return 'the invite event id (e) is not a ULID';
  if (!Array.isArray(w.b) || w.b.length > MAX_BOOTSTRAP_URLS) return `the bootstrap list (b) must hold at most ${MAX_BOOTSTRAP_URLS} addresses`;
  for (const url of w.b) {
    if (typeof url !== 'string' || url.length > MAX_BOOTSTRAP_URL_CHARS || !/^(https?|wss?):\/\/[^\s]+$/.test(url)) {
      return `the bootstrap address ${JSON.stringify(url)} is not an http(s) or ws(s) URL`;
    }
  }
  if (w.k !== undefined && (typeof w.k !== 'string' || !SECRET_PATTERN.test(w.k))) return 'the invite secret (k) is not 32 bytes of base64url';
  return null;
}

/** Refuses a one-scan invite whose `t` is not the public half of `k`, and a secret that is not base64url. */
async function secretProblem(wire: Record<string, unknown>): Promise<string | null> {
  if (wire.k === undefined) return null;
  let seed: Uint8Array;
  try {
    seed = base64UrlDecode(wire.k as string);
  } catch {
    return 'the invite secret (k) is not base64url';
  }
  if (seed.length !== 32) return 'the invite secret (k) is not 32 bytes';
  if ((await secretNodeId(seed)) !== wire.t) return "the invited device's NodeID (t) does not belong to the invite secret (k)";
  return null;
}

/** Signs an invite as `inviter`. Refuses fields that decodeInvite would refuse, so we never hand out a bad invite. */
export async function signInvite(fields: InviteFields, inviter: KeyPair): Promise<Invite> {
  const wire = toWire({ ...fields, inviter_node_id: inviter.nodeId });
  const problem = shapeProblem(wire as unknown as Record<string, unknown>) ?? (await secretProblem(wire));
  if (problem) throw new HearthError('bad_request', `cannot sign this invite: ${problem}`, { extra: { reason: 'invite_invalid' } });
  const s = await signBytes(utf8Encode(canonicalJson(wire)), inviter);
  return fromWire({ ...wire, s });
}

/** The `invite_blob` text: `ed25519:` + base64url of the canonical JSON of the wire object. */
export function encodeInvite(invite: Invite): string {
  const wire: WireInvite = { ...toWire(invite), s: invite.signature };
  const text = INVITE_PREFIX + base64UrlEncode(utf8Encode(canonicalJson(wire)));
  if (text.length > MAX_INVITE_TEXT_BYTES) throw new HearthError('bad_request', `this invite encodes to ${text.length} bytes, over ${MAX_INVITE_TEXT_BYTES}; use fewer or shorter bootstrap addresses`);
  return text;
}

/**
 * The join link: `${base}/join#${blob}`. The invite sits in the URL fragment, which browsers never send to the
 * server (not in the request line, not in Referer), so a one-scan secret reaches the app's code but not the web
 * server or its logs. The join page should still drop the fragment (history.replaceState) once it has read it.
 */
export function inviteLink(origin: string, invite: Invite): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new HearthError('bad_request', `the link base ${JSON.stringify(origin)} is not a URL`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
    throw new HearthError('bad_request', `the link base must be a plain http(s) address without ? or #, got ${JSON.stringify(origin)}`);
  }
  return `${url.href.replace(/\/+$/, '')}/join#${encodeInvite(invite)}`;
}

/** The blob inside a pasted or scanned text: the blob itself, a join link, or `hearthnet://v1/<blob>`. */
function extractBlob(text: string): string {
  if (text.startsWith(INVITE_URI_PREFIX)) {
    const rest = text.slice(INVITE_URI_PREFIX.length);
    return rest.startsWith(INVITE_PREFIX) ? rest : INVITE_PREFIX + rest; // M13 writes the base64 without the tag
  }
  if (/^https?:\/\//i.test(text)) {
    const hash = text.indexOf('#');
    if (hash < 0 || hash === text.length - 1) {
      throw damaged('the link has no invite after "#" (was the link cut off when it was copied?)');
    }
    try {
      return decodeURIComponent(text.slice(hash + 1)); // some messengers escape ":" as %3A
    } catch {
      throw damaged('the part of the link after "#" is not valid');
    }
  }
  return text;
}

/** Parses a pasted or scanned invite and verifies the inviter's signature. Throws HearthError with M13's reason. */
export async function decodeInvite(input: string): Promise<Invite> {
  if (typeof input !== 'string') throw inviteError('bad_request', 'invite_invalid', 'This is not a HearthNet invite: expected text.');
  const size = utf8Encode(input).length;
  if (size > MAX_INVITE_TEXT_BYTES) {
    throw inviteError('bad_request', 'invite_invalid', `This is not a HearthNet invite: it is ${size} bytes long and an invite is at most ${MAX_INVITE_TEXT_BYTES}.`);
  }
  const blob = extractBlob(input.trim());
  if (!blob.startsWith(INVITE_PREFIX)) {
    throw inviteError('bad_request', 'invite_invalid', 'This is not a HearthNet invite: it should start with "ed25519:", "hearthnet://v1/" or be a join link.');
  }
  let wire: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(utf8Decode(base64UrlDecode(blob.slice(INVITE_PREFIX.length))));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw damaged('it does not hold a JSON object');
    wire = parsed as Record<string, unknown>;
  } catch (err) {
    if (err instanceof HearthError) throw err;
    const what = err instanceof SyntaxError ? 'its content is not valid JSON' : `it is not valid base64url (${(err as Error).message.replace(/^base64url: /, '')})`;
    throw damaged(what);
  }
  const problem = shapeProblem(wire) ?? (typeof wire.s === 'string' ? null : 'the signature (s) is missing');
  if (problem) throw damaged(problem, wire.v === INVITE_VERSION ? RETRY_HINT : 'Update the app, or ask for a new invite.');
  const { s, ...signed } = wire;
  const signature = decodeSignature(s);
  const valid = signature !== null && (await verifyEd25519(signature, utf8Encode(canonicalJson(signed)), parseNodeId(wire.f as string)));
  if (!valid) {
    throw inviteError('invalid_signature', 'invite_invalid', 'This invite was changed after it was signed, or not signed by the inviter it names. Ask for a new invite.');
  }
  const secret = await secretProblem(wire);
  if (secret) throw damaged(secret, 'Ask the inviter for a new invite.');
  return fromWire(wire as unknown as WireInvite);
}

export interface InviteUseContext {
  nowMs: number;
  /** This device's full NodeID. */
  selfNodeId: string;
  /** For the time in messages; default: the runtime's zone (the person's own clock). */
  timeZone?: string;
}

/**
 * Whether this device may redeem a verified invite now: refuses an expired invite (`expired`, invite_expired) and
 * an addressed invite made for another device (`unauthorized`, invitee_mismatch). A one-scan invite is for
 * whichever device holds it. An invite is usable up to and including its `expires_at` second.
 */
export function checkInviteUsable(invite: Invite, context: InviteUseContext): void {
  const expiresMs = parseRfc3339(invite.expires_at);
  if (!(context.nowMs <= expiresMs)) {
    const when = humanTime(expiresMs, context.nowMs, context.timeZone);
    throw inviteError('expired', 'invite_expired', `This invite to "${invite.community_name}" expired at ${when}; ask for a new one.`);
  }
  if (invite.invite_secret === undefined && invite.invitee_node_id !== context.selfNodeId) {
    throw inviteError(
      'unauthorized',
      'invitee_mismatch',
      `This invite to "${invite.community_name}" was made for another device (${shortOrRaw(invite.invitee_node_id)}), ` +
        `not this one (${shortOrRaw(context.selfNodeId)}). Show the inviter this device's ID code so they can invite it.`
    );
  }
}

function shortOrRaw(nodeId: string): string {
  try {
    return shortOf(nodeId);
  } catch {
    return nodeId;
  }
}

/** "14:02 on 3 May" (with the year when it is not the current one). */
export function humanTime(ms: number, nowMs: number, timeZone?: string): string {
  const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(ms);
  const yearOf = (t: number) => new Intl.DateTimeFormat('en-GB', { year: 'numeric', timeZone }).format(t);
  const withYear = yearOf(ms) !== yearOf(nowMs);
  const date = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: withYear ? 'numeric' : undefined, timeZone }).format(ms);
  return `${time} on ${date}`;
}

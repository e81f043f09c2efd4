/**
 * Messages on the bridge socket (PROTOCOL.md B1-B5), as pure functions: size check, parse and shape check of
 * what a client sends, and the constructors of what the bridge sends. Signatures, nonces and rooms are checked
 * later (admission.ts, signalling.ts); nothing here throws on any input.
 */
import { base64DecodedLength, isFullNodeId, isUlid, MAX_FRAME_BYTES, NODE_PROFILES, parseRfc3339, type ErrorCode, type NodeProfile } from '../src/lib/core/index.js';
import type { RejectionReason } from './counters.js';

/** What the bridge answers and counts when it refuses a message. */
export interface Rejection {
  code: ErrorCode;
  reason: RejectionReason;
  message: string;
}

const reject = (code: ErrorCode, reason: RejectionReason, message: string): Rejection => ({ code, reason, message });

/** What a newcomer shows a room the bridge guards (B8): the invite it holds and, for a one-scan invite, its proof. */
export interface HelloInvite {
  invite_event_id: string;
  proof?: string;
}

/** The signed hello of B1; `signature` is checked by admission, not here. `invite` is signed with the rest. */
export interface Hello {
  node_id: string;
  community: string;
  display_name: string;
  profile: NodeProfile;
  nonce: string;
  timestamp: string;
  invite?: HelloInvite;
  signature?: unknown;
  [extra: string]: unknown;
}

/** The signed WebRTC signal of B3. */
export interface SignedSignal {
  from: string;
  to: string;
  timestamp: string;
  data: unknown;
  signature?: unknown;
  [extra: string]: unknown;
}

/**
 * A peer frame on the bridge socket (B4): JSON text as it is, or, with `bin: true`, a binary frame (a blob chunk
 * part) as standard base64. The bridge checks the base64 and the decoded size but never opens either.
 */
export interface RelayedFrame {
  frame: string;
  bin?: true;
}

export type ClientMessage =
  | { t: 'hello'; hello: Hello }
  | { t: 'signal'; to: string; signal: SignedSignal }
  | ({ t: 'relay'; to: string } & RelayedFrame);

/** On failure `t` is the message type when it could be read, so a malformed hello can be told apart (B1 closes). */
export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; rejection: Rejection; t?: string };

const MAX_COMMUNITY_LENGTH = 128;
const MAX_DISPLAY_NAME_LENGTH = 64;
const MAX_NONCE_LENGTH = 128;
/** An invite proof is one `ed25519:` signature: 8 + 86 characters. */
const MAX_PROOF_LENGTH = 128;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const isBoundedString = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max;
const isTimestamp = (value: unknown): boolean => !Number.isNaN(parseRfc3339(value));

/** null when the hello has the B1 shape, else what is wrong with it. */
export function helloShapeProblem(hello: unknown): string | null {
  if (!isRecord(hello)) return 'hello must be an object';
  if (!isFullNodeId(hello.node_id)) return 'hello.node_id must be a full NodeID';
  if (!isBoundedString(hello.community, MAX_COMMUNITY_LENGTH)) return `hello.community must be a string of at most ${MAX_COMMUNITY_LENGTH} characters`;
  if (!isBoundedString(hello.display_name, MAX_DISPLAY_NAME_LENGTH)) return `hello.display_name must be a string of at most ${MAX_DISPLAY_NAME_LENGTH} characters`;
  if (!(NODE_PROFILES as readonly unknown[]).includes(hello.profile)) return `hello.profile must be one of ${NODE_PROFILES.join('|')}`;
  if (!isBoundedString(hello.nonce, MAX_NONCE_LENGTH)) return 'hello.nonce must be the challenge nonce';
  if (!isTimestamp(hello.timestamp)) return 'hello.timestamp must be RFC 3339 UTC';
  if (hello.invite !== undefined) return helloInviteProblem(hello.invite);
  return null;
}

function helloInviteProblem(invite: unknown): string | null {
  if (!isRecord(invite)) return 'hello.invite must be an object';
  const unknown = Object.keys(invite).filter((key) => key !== 'invite_event_id' && key !== 'proof');
  if (unknown.length > 0) return `hello.invite has unknown fields (${unknown.slice(0, 4).join(', ')}); it holds invite_event_id and proof`;
  if (!isUlid(invite.invite_event_id)) return 'hello.invite.invite_event_id must be the invite event id (a ULID)';
  if (invite.proof !== undefined && !isBoundedString(invite.proof, MAX_PROOF_LENGTH)) return `hello.invite.proof must be a string of at most ${MAX_PROOF_LENGTH} characters`;
  return null;
}

function signalShapeProblem(to: unknown, signal: unknown): string | null {
  if (!isFullNodeId(to)) return 'to must be a full NodeID';
  if (!isRecord(signal)) return 'signal must be an object';
  if (!isFullNodeId(signal.from)) return 'signal.from must be a full NodeID';
  if (!isFullNodeId(signal.to)) return 'signal.to must be a full NodeID';
  if (!isTimestamp(signal.timestamp)) return 'signal.timestamp must be RFC 3339 UTC';
  if (signal.data === undefined) return 'signal.data is missing';
  return null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** null when `value` is a relayable frame (text, or `bin` base64 of 1..MAX_FRAME_BYTES bytes), else the problem. */
function relayFrameProblem(frame: unknown, bin: unknown): Rejection | null {
  if (bin !== undefined && bin !== true) return reject('bad_request', 'bad_shape', 'bin must be true or absent');
  if (typeof frame !== 'string') return reject('bad_request', 'bad_shape', 'frame must be a string (one JSON peer frame, or base64 with bin: true)');
  if (bin) {
    const bytes = base64DecodedLength(frame);
    if (bytes > MAX_FRAME_BYTES) return reject('bad_request', 'frame_too_large', `binary frame is ${bytes} bytes; the limit is ${MAX_FRAME_BYTES}`);
    if (bytes < 1 || !BASE64.test(frame)) return reject('bad_request', 'bad_shape', 'a bin frame must be non-empty standard base64 with padding');
    return null;
  }
  const bytes = Buffer.byteLength(frame, 'utf8');
  if (bytes > MAX_FRAME_BYTES) return reject('bad_request', 'frame_too_large', `frame is ${bytes} bytes; the limit is ${MAX_FRAME_BYTES}`);
  return null;
}

/** A relayed frame as the receiving Link carries it: text, or the bytes of a `bin` frame (already validated). */
export function relayedLinkFrame({ frame, bin }: RelayedFrame): string | Uint8Array {
  if (!bin) return frame;
  const buffer = Buffer.from(frame, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Size, JSON, type and shape, in that order (cheap first). `data` is a text message's bytes. */
export function parseClientMessage(data: Buffer, isBinary: boolean, maxMessageBytes: number): ParseResult {
  const fail = (rejection: Rejection, t?: string): ParseResult => ({ ok: false, rejection, t });
  if (isBinary) return fail(reject('bad_request', 'binary', 'binary messages are not accepted; send JSON text'));
  if (data.length > maxMessageBytes) {
    return fail(reject('bad_request', 'oversize', `message is ${data.length} bytes; the limit is ${maxMessageBytes}`));
  }
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return fail(reject('bad_request', 'bad_json', 'message is not valid JSON'));
  }
  if (!isRecord(value) || typeof value.t !== 'string') return fail(reject('bad_request', 'bad_shape', 'message must be a JSON object with a string "t"'));

  switch (value.t) {
    case 'hello': {
      const problem = helloShapeProblem(value.hello);
      if (problem) return fail(reject('bad_request', 'bad_shape', problem), 'hello');
      return { ok: true, message: { t: 'hello', hello: value.hello as Hello } };
    }
    case 'signal': {
      const problem = signalShapeProblem(value.to, value.signal);
      if (problem) return fail(reject('bad_request', 'bad_shape', problem));
      return { ok: true, message: { t: 'signal', to: value.to as string, signal: value.signal as SignedSignal } };
    }
    case 'relay': {
      if (!isFullNodeId(value.to)) return fail(reject('bad_request', 'bad_shape', 'to must be a full NodeID'));
      const problem = relayFrameProblem(value.frame, value.bin);
      if (problem) return fail(problem);
      const frame = value.frame as string;
      return { ok: true, message: value.bin === true ? { t: 'relay', to: value.to, frame, bin: true } : { t: 'relay', to: value.to, frame } };
    }
    default:
      return fail(reject('bad_request', 'unknown_type', `unknown message type ${JSON.stringify(value.t.slice(0, 32))}`));
  }
}

// ---- what the bridge sends ----

export interface PeerInfo {
  node_id: string;
  display_name: string;
  profile: NodeProfile;
  /** The bridge's own member node (B7): reachable only through this socket, never by WebRTC. */
  relay_only?: true;
}

export const challengeMessage = (nonce: string, bridge: { node_id: string; name: string; version: string }) => ({ t: 'challenge', nonce, bridge });
/** `messages_per_second` is this client's budget (B5), so it can pace itself instead of losing messages. */
export const welcomeMessage = (peers: PeerInfo[], messagesPerSecond: number) => ({ t: 'welcome', peers, limits: { messages_per_second: messagesPerSecond } });
export const peerJoinedMessage = (peer: PeerInfo) => ({ t: 'peer-joined', peer });
export const peerLeftMessage = (nodeId: string) => ({ t: 'peer-left', node_id: nodeId });
export const signalMessage = (from: string, signal: SignedSignal) => ({ t: 'signal', from, signal });
export const relayMessage = (from: string, { frame, bin }: RelayedFrame) => (bin ? { t: 'relay', from, frame, bin } : { t: 'relay', from, frame });

export function errorMessage(code: ErrorCode, message: string, retryAfterMs?: number) {
  const error: { error: ErrorCode; message: string; retry_after_ms?: number } = { error: code, message };
  if (retryAfterMs !== undefined) error.retry_after_ms = retryAfterMs;
  return { t: 'error', error };
}

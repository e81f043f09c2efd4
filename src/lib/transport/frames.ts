/**
 * Encoding and decoding of peer frames (PROTOCOL.md §P). Decoding checks, in this order and cheapest first:
 * size, JSON, shape, `from` against the link's remote NodeID (P2), signature. A binary frame is a chunk part
 * (binary-parts.ts): size and header only, since the signed stream frame it belongs to vouches for its bytes. Peer
 * input never throws: every failure comes back as a typed rejection carrying one of the 13 wire codes.
 */
import {
  HearthError,
  MAX_FRAME_BYTES,
  verifyNodeManifest,
  verifyPayload,
  type Clock,
  type KeyPins
} from '../core/index.js';
import { decodeBinaryPart } from './binary-parts.js';
import { checkFrameShape } from './frame-schemas.js';
import { FRAME_TYPES, SIGNED_FIELD, type AdmitResult, type FrameRejection, type FrameType, type PeerFrame } from './frame-types.js';
import type { LinkFrame } from './link.js';

export interface DecodeContext {
  /** The NodeID the link is bound to; every signed object must come `from` it (P2). */
  remoteNodeId: string;
  clock: Clock;
  /** Shared trust-on-first-use pins (W6); a manifest whose short id is pinned to another key is refused. */
  pins?: KeyPins;
}

/** Exact UTF-8 length of a string, counted without allocating the encoded bytes. */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3; // includes lone surrogates, which encoders replace with U+FFFD (3 bytes)
  }
  return bytes;
}

/** A text of this many UTF-16 units or fewer is within MAX_FRAME_BYTES whatever it holds (at most 3 bytes a unit). */
const SURELY_SMALL_UNITS = Math.floor(MAX_FRAME_BYTES / 3);

/** The frame's size in bytes, or (for a text that surely fits) a lower bound that is still within the limit. */
function frameBytes(raw: LinkFrame): number {
  if (typeof raw !== 'string') return raw.byteLength;
  // Each UTF-16 unit is at least one byte and at most three: a long string is over the limit without counting,
  // a short one under it. Only texts in between are counted exactly.
  if (raw.length > MAX_FRAME_BYTES || raw.length <= SURELY_SMALL_UNITS) return raw.length;
  return utf8ByteLength(raw);
}

/** Serialises a frame; throws bad_request if it would exceed MAX_FRAME_BYTES (our own bug or an oversized body). */
export function encodeFrame(frame: PeerFrame): string {
  const text = JSON.stringify(frame);
  if (text.length <= SURELY_SMALL_UNITS) return text;
  const bytes = utf8ByteLength(text);
  if (bytes > MAX_FRAME_BYTES) {
    throw new HearthError('bad_request', `${frame.t} frame would be ${bytes} bytes, over the ${MAX_FRAME_BYTES}-byte limit`);
  }
  return text;
}

function reject(code: FrameRejection['code'], message: string, extra: Omit<FrameRejection, 'code' | 'message'> = {}): AdmitResult {
  return { ok: false, rejection: { code, message, ...extra } };
}

function isFrameType(value: unknown): value is FrameType {
  return typeof value === 'string' && (FRAME_TYPES as readonly string[]).includes(value);
}

/** The request_id of a call-shaped object, so even a refused call gets an answer it can match. */
function requestIdOf(t: FrameType, frame: Record<string, unknown>): string | undefined {
  if (t !== 'call') return undefined;
  const call = frame.call as Record<string, unknown> | undefined;
  return typeof call?.request_id === 'string' ? call.request_id : undefined;
}

export async function decodeFrame(raw: LinkFrame, context: DecodeContext): Promise<AdmitResult> {
  try {
    return await decodeChecked(raw, context);
  } catch (err) {
    // Only a bug of ours gets here; the peer still must not be able to crash the loop with it.
    return reject('internal_error', `decoding failed: ${HearthError.from(err).message}`);
  }
}

async function decodeChecked(raw: LinkFrame, context: DecodeContext): Promise<AdmitResult> {
  const bytes = frameBytes(raw);
  if (bytes > MAX_FRAME_BYTES) return reject('bad_request', `frame of ${bytes} bytes exceeds ${MAX_FRAME_BYTES}`);
  if (typeof raw !== 'string') {
    const decoded = decodeBinaryPart(raw);
    return decoded.ok ? { ok: true, frame: decoded.part } : reject('bad_request', decoded.message, { t: 'bin' });
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return reject('bad_request', 'frame is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return reject('bad_request', 'frame is not a JSON object');
  const record = parsed as Record<string, unknown>;
  const t = record.t;
  if (!isFrameType(t)) return reject('bad_request', `unknown frame type ${JSON.stringify(t)?.slice(0, 40)}`);

  const problem = checkFrameShape(t, record);
  if (problem) return reject('bad_request', `${t} frame: ${problem}`, { t });
  const requestId = requestIdOf(t, record);
  const signed = record[SIGNED_FIELD[t]] as Record<string, unknown>;

  const from = t === 'manifest' ? signed.node_id : signed.from;
  if (from !== context.remoteNodeId) {
    return reject('invalid_signature', `${t} frame claims to come from ${String(from)}, not the link's peer`, { t, requestId });
  }

  if (t === 'manifest') {
    try {
      await verifyNodeManifest(signed, context.clock, context.pins);
    } catch (err) {
      const error = HearthError.from(err);
      return reject(error.code, error.message, { t });
    }
  } else if (!(await verifyPayload(signed, context.remoteNodeId))) {
    return reject('invalid_signature', `${t} frame signature does not verify`, { t, requestId });
  }
  return { ok: true, frame: record as unknown as PeerFrame };
}

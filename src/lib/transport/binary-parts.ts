/**
 * Blob chunk bytes between peers travel as binary link frames, not base64 (DESIGN §3.5). A stream event whose data
 * holds `bytes` (a Uint8Array of at most 256 KiB) and `cid` goes out as its signed JSON stream frame without `bytes`,
 * with `size_bytes` and `binary_parts: n` added, followed by n binary frames on the same link:
 *
 *   byte  0       BINARY_FRAME_VERSION (1)
 *   bytes 1-26    request_id, ASCII (a ULID)
 *   bytes 27-30   seq of the signed stream frame the bytes belong to, uint32 big-endian
 *   bytes 31-34   offset of the payload within the chunk, uint32 big-endian
 *   bytes 35-     payload, at least one byte
 *
 * Parts are not signed: the receiver assembles them, hashes the whole chunk and hands the event on (with
 * `data.bytes`) only when the hash equals the signed `cid`. Pure functions; the caller side lives in chunk-assembly.ts.
 */
import { base64Encode, CHUNK_SIZE_BYTES, HearthError, isCid, MAX_FRAME_BYTES } from '../core/index.js';
import type { BinaryPartFrame } from './frame-types.js';

export const BINARY_FRAME_VERSION = 1;
export const REQUEST_ID_CHARS = 26;
export const BINARY_HEADER_BYTES = 1 + REQUEST_ID_CHARS + 4 + 4;
/** Largest chunk a stream event may carry as bytes: one blob chunk. */
export const MAX_CHUNK_BYTES = CHUNK_SIZE_BYTES;
/**
 * The size of the binary frames we send, header included. We accept up to MAX_FRAME_BYTES, but send 48 KiB: its
 * base64 is exactly 64 KiB, so a part crossing the bridge socket fits even the smallest message limit a bridge may
 * be configured with (65 KiB). A 256 KiB chunk is 6 parts.
 */
export const BINARY_FRAME_SEND_BYTES = 48 * 1024;
export const BINARY_PART_PAYLOAD_BYTES = BINARY_FRAME_SEND_BYTES - BINARY_HEADER_BYTES;
/** Fewest bytes per part on average a receiver tolerates: bounds the bookkeeping per chunk (256 KiB / 64 = 4 KiB). */
export const MAX_BINARY_PARTS_PER_CHUNK = 64;
const MAX_SEQ = 2 ** 31;

const REQUEST_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** Character codes allowed in a request id (Crockford base32, upper case), as the frame schema's pattern. */
const REQUEST_ID_CODE = new Uint8Array(128);
for (const c of '0123456789ABCDEFGHJKMNPQRSTVWXYZ') REQUEST_ID_CODE[c.charCodeAt(0)] = 1;

/** Serialises a part. Throws bad_request past MAX_FRAME_BYTES, like encodeFrame. */
export function encodeBinaryPart(part: BinaryPartFrame): Uint8Array {
  const size = BINARY_HEADER_BYTES + part.bytes.length;
  if (size > MAX_FRAME_BYTES) throw new HearthError('bad_request', `binary frame would be ${size} bytes, over the ${MAX_FRAME_BYTES}-byte limit`);
  if (!REQUEST_ID.test(part.requestId)) throw new HearthError('bad_request', `binary frame: request id ${JSON.stringify(part.requestId)} is not a ULID`);
  const out = new Uint8Array(size);
  out[0] = BINARY_FRAME_VERSION;
  for (let i = 0; i < REQUEST_ID_CHARS; i++) out[1 + i] = part.requestId.charCodeAt(i);
  const view = new DataView(out.buffer);
  view.setUint32(1 + REQUEST_ID_CHARS, part.seq);
  view.setUint32(5 + REQUEST_ID_CHARS, part.offset);
  out.set(part.bytes, BINARY_HEADER_BYTES);
  return out;
}

export type BinaryDecodeResult = { ok: true; part: BinaryPartFrame } | { ok: false; message: string };

/** Header checks of an inbound binary frame (its size was checked before). Never throws. */
export function decodeBinaryPart(raw: Uint8Array): BinaryDecodeResult {
  if (raw.length <= BINARY_HEADER_BYTES) return { ok: false, message: `binary frame of ${raw.length} bytes has no payload after its ${BINARY_HEADER_BYTES}-byte header` };
  if (raw[0] !== BINARY_FRAME_VERSION) return { ok: false, message: `binary frame version ${raw[0]} is not ${BINARY_FRAME_VERSION}` };
  let requestId = '';
  for (let i = 1; i <= REQUEST_ID_CHARS; i++) {
    const code = raw[i];
    if (code >= 128 || !REQUEST_ID_CODE[code]) return { ok: false, message: 'binary frame: request id is not a ULID' };
    requestId += String.fromCharCode(code);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const seq = view.getUint32(1 + REQUEST_ID_CHARS);
  const offset = view.getUint32(5 + REQUEST_ID_CHARS);
  if (seq < 1 || seq > MAX_SEQ) return { ok: false, message: `binary frame: seq ${seq} is out of range` };
  const bytes = raw.subarray(BINARY_HEADER_BYTES);
  if (offset + bytes.length > MAX_CHUNK_BYTES) return { ok: false, message: `binary frame: bytes ${offset}..${offset + bytes.length} lie beyond any chunk (${MAX_CHUNK_BYTES} bytes)` };
  return { ok: true, part: { t: 'bin', requestId, seq, offset, bytes } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Provider side: null when `data` carries no chunk bytes; else the data to sign (without `bytes`, with `size_bytes`
 * and `binary_parts`) and the bytes to send after it. A handler that yields bytes without a valid `cid`, or more than
 * one chunk, is broken: internal_error.
 */
export function splitChunkData(data: unknown): { data: Record<string, unknown>; bytes: Uint8Array } | null {
  if (!isRecord(data) || !(data.bytes instanceof Uint8Array)) return null;
  const { bytes, ...rest } = data as Record<string, unknown> & { bytes: Uint8Array };
  if (bytes.length > MAX_CHUNK_BYTES) throw new HearthError('internal_error', `handler yielded ${bytes.length} chunk bytes; a stream event carries at most ${MAX_CHUNK_BYTES}`);
  if (!isCid(rest.cid)) throw new HearthError('internal_error', 'handler yielded chunk bytes without their cid (blake3: + 64 hex)');
  const parts = Math.ceil(bytes.length / BINARY_PART_PAYLOAD_BYTES);
  return { data: { ...rest, size_bytes: bytes.length, binary_parts: parts }, bytes };
}

/** The binary frames that follow signed stream frame `seq`: views into `bytes`, in offset order. */
export function binaryPartsOf(requestId: string, seq: number, bytes: Uint8Array): BinaryPartFrame[] {
  const parts: BinaryPartFrame[] = [];
  for (let offset = 0; offset < bytes.length; offset += BINARY_PART_PAYLOAD_BYTES) {
    parts.push({ t: 'bin', requestId, seq, offset, bytes: bytes.subarray(offset, offset + BINARY_PART_PAYLOAD_BYTES) });
  }
  return parts;
}

/** What a signed stream frame promises about the bytes that follow it. */
export interface ChunkAnnouncement {
  cid: string;
  sizeBytes: number;
  parts: number;
}

/**
 * Caller side: null when the frame announces no bytes (no `binary_parts`); a string naming the problem when the
 * announcement is inconsistent (the signed frame itself is wrong, so the exchange fails); else the announcement.
 */
export function readChunkAnnouncement(data: unknown): ChunkAnnouncement | string | null {
  if (!isRecord(data) || data.binary_parts === undefined) return null;
  const { cid, size_bytes: size, binary_parts: parts } = data;
  if (!isCid(cid)) return 'a stream frame with binary_parts must carry the cid of its bytes';
  if (!Number.isInteger(size) || (size as number) < 0 || (size as number) > MAX_CHUNK_BYTES) {
    return `size_bytes must be an integer 0..${MAX_CHUNK_BYTES} when binary_parts is set`;
  }
  const sizeBytes = size as number;
  const fewest = Math.ceil(sizeBytes / (MAX_FRAME_BYTES - BINARY_HEADER_BYTES));
  const most = Math.min(sizeBytes, MAX_BINARY_PARTS_PER_CHUNK);
  if (!Number.isInteger(parts) || (parts as number) < fewest || (parts as number) > most) {
    return `binary_parts must be an integer ${fewest}..${most} for ${sizeBytes} bytes`;
  }
  return { cid, sizeBytes, parts: parts as number };
}

/**
 * For exits where events leave as JSON (the HTTP gateway, a UI bridge): chunk `bytes` become `data_b64`, the shape
 * of contract §4.7; the bookkeeping field `binary_parts` goes. Anything else is returned as it is.
 */
export function chunkDataForJson(data: unknown): unknown {
  if (!isRecord(data) || !(data.bytes instanceof Uint8Array)) return data;
  const { bytes, binary_parts: _parts, ...rest } = data as Record<string, unknown> & { bytes: Uint8Array };
  return { ...rest, size_bytes: bytes.length, data_b64: base64Encode(bytes) };
}

/**
 * A unary answer too large for one frame (DESIGN §3.5: "messages are split to at most 64 KiB"; P13) travels as a
 * stream of `response_part` events, each a signed stream frame holding a base64 slice of the answer's UTF-8 JSON, and
 * a `done` that says how many parts there were. The caller joins them and parses the JSON; the parts are signed and
 * tied to the request like any stream frame, so the joined answer is as authentic as a signed response. Base64 keeps
 * every part's size fixed whatever the text holds (JSON-escaping a slice could triple it).
 */
import { base64Decode, base64Encode, HearthError, MAX_FRAME_BYTES } from '../core/index.js';
import type { StreamEvent } from './frame-types.js';
import { utf8ByteLength } from './frames.js';

export const RESPONSE_PART_EVENT = 'response_part';
/** Bytes of JSON per part: 40 KiB is 54.6 KiB as base64, leaving room for the signed frame around it. */
export const RESPONSE_PART_BYTES = 40 * 1024;
/** A body whose JSON is larger than this is sent in parts (the rest of a response frame takes well under 4 KiB). */
export const INLINE_RESPONSE_MAX_BYTES = MAX_FRAME_BYTES - 4 * 1024;
/** The largest answer a caller joins: a peer cannot make us buffer more for one call. */
export const MAX_SPLIT_RESPONSE_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The answer's JSON when it is too large to send inline, else null (send it as a response frame). */
export function oversizedJson(body: unknown): string | null {
  const text = JSON.stringify(body ?? null);
  if (text.length <= INLINE_RESPONSE_MAX_BYTES / 3) return null; // surely small: at most 3 bytes a UTF-16 unit
  const bytes = utf8ByteLength(text);
  if (bytes <= INLINE_RESPONSE_MAX_BYTES) return null;
  if (bytes > MAX_SPLIT_RESPONSE_BYTES) throw new HearthError('internal_error', `the answer is ${bytes} bytes, over the ${MAX_SPLIT_RESPONSE_BYTES}-byte limit of one call`);
  return text;
}

/** The events that carry `json` in parts; the generator's return value is the `done` data. */
export async function* responseParts(json: string): AsyncGenerator<StreamEvent, { response_parts: number }, undefined> {
  const bytes = encoder.encode(json);
  let parts = 0;
  for (let offset = 0; offset < bytes.length; offset += RESPONSE_PART_BYTES) {
    parts++;
    yield { event: RESPONSE_PART_EVENT, data: { b64: base64Encode(bytes.subarray(offset, offset + RESPONSE_PART_BYTES)) } };
  }
  return { response_parts: parts };
}

/** Caller side: collects parts (bounded) and turns them back into the answer when `done` says how many came. */
export class ResponseAssembler {
  private readonly parts: Uint8Array[] = [];
  private bytes = 0;

  get count(): number {
    return this.parts.length;
  }

  add(data: unknown): void {
    const b64 = (data as { b64?: unknown } | null)?.b64;
    if (typeof b64 !== 'string') throw new HearthError('bad_request', 'a response part carries no base64 text');
    let part: Uint8Array;
    try {
      part = base64Decode(b64);
    } catch {
      throw new HearthError('bad_request', 'a response part is not valid base64');
    }
    this.bytes += part.length;
    if (this.bytes > MAX_SPLIT_RESPONSE_BYTES) throw new HearthError('bad_request', `the answer grew past ${MAX_SPLIT_RESPONSE_BYTES} bytes; refused`);
    this.parts.push(part);
  }

  /** The joined answer, when `done` announces exactly the parts received; otherwise `done`'s own data (a plain stream). */
  finish(done: unknown): unknown {
    const announced = (done as { response_parts?: unknown } | null)?.response_parts;
    if (this.parts.length === 0 || typeof announced !== 'number') return done;
    if (announced !== this.parts.length) throw new HearthError('bad_request', `the answer announced ${announced} parts but ${this.parts.length} arrived`);
    const joined = new Uint8Array(this.bytes);
    let offset = 0;
    for (const part of this.parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    try {
      return JSON.parse(decoder.decode(joined)) as unknown;
    } catch {
      throw new HearthError('bad_request', 'the joined answer is not valid UTF-8 JSON');
    }
  }
}

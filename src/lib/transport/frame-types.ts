/**
 * The peer frames of PROTOCOL.md §P: one JSON text message each, carrying exactly one signed object; and the binary
 * parts that carry a stream chunk's bytes after its signed frame (binary-parts.ts).
 */
import type { CallEnvelope, ErrorCode, NodeManifest, ResponseEnvelope, WireError } from '../core/index.js';

/** `{request_id, from, seq, event, data, timestamp}` signed; `seq` counts from 1 and the terminal frame takes the next one. */
export interface StreamFrameObject {
  request_id: string;
  from: string;
  seq: number;
  event: string;
  data: unknown;
  timestamp: string;
  signature: string;
}

export interface AckObject {
  request_id: string;
  from: string;
  upto: number;
  timestamp: string;
  signature: string;
}

export interface CancelObject {
  request_id: string;
  from: string;
  timestamp: string;
  signature: string;
}

export type ManifestFrame = { t: 'manifest'; manifest: NodeManifest };
export type CallFrame = { t: 'call'; call: CallEnvelope };
export type ResponseFrame = { t: 'response'; response: ResponseEnvelope };
export type StreamFrame = { t: 'stream'; frame: StreamFrameObject };
export type AckFrame = { t: 'ack'; ack: AckObject };
export type CancelFrame = { t: 'cancel'; cancel: CancelObject };

export type PeerFrame = ManifestFrame | CallFrame | ResponseFrame | StreamFrame | AckFrame | CancelFrame;
export type FrameType = PeerFrame['t'];

export const FRAME_TYPES: readonly FrameType[] = ['manifest', 'call', 'response', 'stream', 'ack', 'cancel'];

/**
 * One binary link frame: `bytes` go at `offset` into the chunk announced by the signed stream frame `seq` of request
 * `requestId`. Not signed: the signed frame's `cid` vouches for the bytes once they are all in.
 */
export interface BinaryPartFrame {
  t: 'bin';
  requestId: string;
  seq: number;
  offset: number;
  bytes: Uint8Array;
}

/** Whatever a link may carry, as decoded (inbound) or before encoding (outbound). */
export type LinkFrameObject = PeerFrame | BinaryPartFrame;
export type LinkFrameType = LinkFrameObject['t'];

/** Where each frame type keeps its signed object. */
export const SIGNED_FIELD = {
  manifest: 'manifest',
  call: 'call',
  response: 'response',
  stream: 'frame',
  ack: 'ack',
  cancel: 'cancel'
} as const satisfies Record<FrameType, string>;

/** One event of a stream as callers and handlers see it. */
export interface StreamEvent {
  event: string;
  data: unknown;
}

export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['done', 'error']);

/** Why an inbound frame was dropped. `requestId` is set when the frame was a call we can answer. */
export interface FrameRejection {
  code: ErrorCode;
  message: string;
  t?: LinkFrameType;
  requestId?: string;
  retryAfterMs?: number;
}

export type AdmitResult = { ok: true; frame: LinkFrameObject } | { ok: false; rejection: FrameRejection };

export type { WireError };

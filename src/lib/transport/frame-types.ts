/** The peer frames of PROTOCOL.md §P: one JSON text message each, carrying exactly one signed object. */
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
  t?: FrameType;
  requestId?: string;
  retryAfterMs?: number;
}

export type AdmitResult = { ok: true; frame: PeerFrame } | { ok: false; rejection: FrameRejection };

export type { WireError };

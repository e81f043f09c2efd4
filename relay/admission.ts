/**
 * Admission to the bridge (B1): the client proves it holds the key of the NodeID it claims by signing a hello
 * that carries this connection's fresh nonce and a current timestamp. Pure apart from signature verification.
 */
import { base64UrlEncode, CALL_TIMESTAMP_WINDOW_SECONDS, isWithinClockWindow, verifyPayload } from '../src/lib/core/index.js';
import type { Hello, Rejection } from './messages.js';

export const NONCE_BYTES = 32;

export function newNonce(): string {
  return base64UrlEncode(globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
}

/** null when the (already shape-checked) hello admits its sender; else why not. Cheap checks first. */
export async function checkHello(hello: Hello, expected: { nonce: string; nowMs: number }): Promise<Rejection | null> {
  if (hello.nonce !== expected.nonce) {
    return { code: 'bad_request', reason: 'wrong_nonce', message: 'hello.nonce does not match this connection\'s challenge' };
  }
  if (!isWithinClockWindow(hello.timestamp, expected.nowMs, CALL_TIMESTAMP_WINDOW_SECONDS)) {
    return { code: 'expired', reason: 'expired', message: `hello.timestamp is more than ${CALL_TIMESTAMP_WINDOW_SECONDS} s from the bridge's clock` };
  }
  if (hello.signature === undefined) {
    return { code: 'invalid_signature', reason: 'invalid_signature', message: 'hello is not signed' };
  }
  if (!(await verifyPayload(hello, hello.node_id))) {
    return { code: 'invalid_signature', reason: 'invalid_signature', message: 'hello signature does not verify for node_id' };
  }
  return null;
}

/**
 * Errors as they leave this node. A peer's schema refuses an error body with a message over 4096 characters or a
 * fractional retry hint, and a refused answer looks like silence (the caller waits for its deadline), so every
 * outgoing error is clamped to what the schema accepts.
 */
import { HearthError, type WireError } from '../core/index.js';

export const MAX_ERROR_MESSAGE_CHARS = 4000;

export function clampWireError(wire: WireError): WireError {
  const clamped = { ...wire };
  if (clamped.message !== undefined && clamped.message.length > MAX_ERROR_MESSAGE_CHARS) {
    clamped.message = clamped.message.slice(0, MAX_ERROR_MESSAGE_CHARS) + '…';
  }
  if (clamped.retry_after_ms !== undefined) clamped.retry_after_ms = Math.max(0, Math.ceil(clamped.retry_after_ms));
  return clamped;
}

/** P6: a HearthError keeps its code; anything else is `internal_error` with its message and never a stack. */
export function toWireError(err: unknown): WireError {
  return clampWireError(HearthError.from(err).toWire());
}

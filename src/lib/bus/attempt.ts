/** What the bus records about one attempt of a call, shared by the local runner and the facade. */
import { utf8ByteLength } from '../transport/index.js';
import type { CallTrace } from './trace.js';

export interface Attempt {
  traceId: string;
  caller: string;
  direction: 'out' | 'in';
  /** Clock ms. */
  started: number;
  bytesIn: number;
  stream: boolean;
  /** The caller named the node (`options.node`): a `not_found` from it is about the input, not the provider. */
  addressed?: boolean;
}

export interface BusCallResult {
  result: unknown;
  trace: CallTrace;
}

/** Records an attempt's outcome (trace, metrics, health) and returns its trace. */
export type AttemptRecorder = (attempt: Attempt, result: string, bytesOut: number, value?: unknown) => CallTrace;

/**
 * Size in bytes for the trace: JSON text, with binary data (a blob chunk's `bytes`) counted by its length, which is
 * what crosses the wire and costs nothing to count (stringifying 256 KiB of bytes took ~40 ms). 0 for what cannot be
 * serialised (it will be refused elsewhere).
 */
export function sizeOf(value: unknown): number {
  if (value === undefined) return 0;
  let binary = 0;
  try {
    const text = JSON.stringify(value, (_key, item: unknown) => {
      if (item instanceof Uint8Array) {
        binary += item.byteLength;
        return null;
      }
      return item;
    });
    return utf8ByteLength(text ?? '') + binary;
  } catch {
    return 0;
  }
}

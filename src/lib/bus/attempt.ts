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
}

export interface BusCallResult {
  result: unknown;
  trace: CallTrace;
}

/** Records an attempt's outcome (trace, metrics, health) and returns its trace. */
export type AttemptRecorder = (attempt: Attempt, result: string, bytesOut: number, value?: unknown) => CallTrace;

/** JSON size in bytes, for the trace; 0 for what cannot be serialised (it will be refused elsewhere). */
export function sizeOf(value: unknown): number {
  if (value === undefined) return 0;
  try {
    return utf8ByteLength(JSON.stringify(value) ?? '');
  } catch {
    return 0;
  }
}

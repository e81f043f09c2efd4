/**
 * `experimental.echo@1.0`: a capability a person can offer from one tab and call from another, to see routing,
 * streams and traces work across the mesh. Unary: returns the text with who served it. With `repeat`, streams the
 * text back as `token` events (one per repetition, `interval_ms` apart, so a stream can be watched arriving — or
 * abandoned) and ends with the same output as the unary answer.
 */
import { rfc3339, type Clock } from '../core/index.js';
import type { CapabilityRegistration } from '../bus/index.js';
import type { CallContext, Scheduler, StreamEvent } from '../transport/index.js';

export const ECHO_CAPABILITY = 'experimental.echo';
export const ECHO_VERSION = '1.0';
export const ECHO_TEXT_MAX_CHARS = 4096;
export const ECHO_REPEAT_MAX = 200;
export const ECHO_INTERVAL_MAX_MS = 1000;

export interface EchoOutput {
  output: { text: string; served_by: string; served_at: string; repeat: number };
}

export const ECHO_SCHEMAS = {
  requestSchema: {
    type: 'object',
    required: ['input'],
    properties: {
      input: {
        type: 'object',
        required: ['text'],
        additionalProperties: false,
        properties: {
          text: { type: 'string', maxLength: ECHO_TEXT_MAX_CHARS },
          repeat: { type: 'integer', minimum: 1, maximum: ECHO_REPEAT_MAX },
          interval_ms: { type: 'integer', minimum: 0, maximum: ECHO_INTERVAL_MAX_MS }
        }
      },
      params: { type: 'object' }
    }
  },
  responseSchema: {
    type: 'object',
    required: ['output'],
    properties: {
      output: {
        type: 'object',
        required: ['text', 'served_by', 'served_at', 'repeat'],
        properties: { text: { type: 'string' }, served_by: { type: 'string' }, served_at: { type: 'string' }, repeat: { type: 'integer' } }
      }
    }
  },
  streamSchema: {
    type: 'object',
    required: ['event', 'data'],
    properties: { event: { const: 'token' }, data: { type: 'object', required: ['i', 'text'] } }
  }
};

/** Resolves after `ms`, or at once when the call is cancelled (the handler then ends within the 200 ms rule). */
function pause(scheduler: Scheduler, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = scheduler.setTimeout(done, ms);
    function done() {
      scheduler.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function* echoes(
  text: string,
  repeat: number,
  intervalMs: number,
  scheduler: Scheduler,
  done: () => EchoOutput,
  signal: AbortSignal
): AsyncGenerator<StreamEvent, EchoOutput, undefined> {
  for (let i = 1; i <= repeat; i++) {
    if (i > 1 && intervalMs > 0) await pause(scheduler, intervalMs, signal);
    if (signal.aborted) break;
    yield { event: 'token', data: { i, text } };
  }
  return done();
}

export function echoCapability(clock: Clock, scheduler: Scheduler, selfId: string): CapabilityRegistration {
  return {
    name: ECHO_CAPABILITY,
    version: ECHO_VERSION,
    ...ECHO_SCHEMAS,
    idempotent: true,
    maxConcurrent: 16,
    timeoutSeconds: 30,
    handler(body: unknown, ctx: CallContext) {
      const { text, repeat, interval_ms: intervalMs = 0 } = (body as { input: { text: string; repeat?: number; interval_ms?: number } }).input;
      const output = (): EchoOutput => ({ output: { text, served_by: selfId, served_at: rfc3339(clock.now()), repeat: repeat ?? 1 } });
      return repeat === undefined ? output() : echoes(text, repeat, intervalMs, scheduler, output, ctx.signal);
    }
  };
}

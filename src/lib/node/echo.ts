/**
 * `experimental.echo@1.0`: a capability a person can offer from one tab and call from another, to see routing,
 * streams and traces work across the mesh. Unary: returns the text with who served it. With `repeat`, streams the
 * text back as `token` events (one per repetition) and ends with the same output as the unary answer.
 */
import { rfc3339, type Clock } from '../core/index.js';
import type { CapabilityRegistration } from '../bus/index.js';
import type { CallContext, StreamEvent } from '../transport/index.js';

export const ECHO_CAPABILITY = 'experimental.echo';
export const ECHO_VERSION = '1.0';
export const ECHO_TEXT_MAX_CHARS = 4096;
export const ECHO_REPEAT_MAX = 200;

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
          repeat: { type: 'integer', minimum: 1, maximum: ECHO_REPEAT_MAX }
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

async function* echoes(text: string, repeat: number, done: () => EchoOutput, signal: AbortSignal): AsyncGenerator<StreamEvent, EchoOutput, undefined> {
  for (let i = 1; i <= repeat; i++) {
    if (signal.aborted) break;
    yield { event: 'token', data: { i, text } };
  }
  return done();
}

export function echoCapability(clock: Clock, selfId: string): CapabilityRegistration {
  return {
    name: ECHO_CAPABILITY,
    version: ECHO_VERSION,
    ...ECHO_SCHEMAS,
    idempotent: true,
    maxConcurrent: 16,
    timeoutSeconds: 30,
    handler(body: unknown, ctx: CallContext) {
      const { text, repeat } = (body as { input: { text: string; repeat?: number } }).input;
      const output = (): EchoOutput => ({ output: { text, served_by: selfId, served_at: rfc3339(clock.now()), repeat: repeat ?? 1 } });
      return repeat === undefined ? output() : echoes(text, repeat, output, ctx.signal);
    }
  };
}

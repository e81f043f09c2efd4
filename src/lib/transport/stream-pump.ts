/**
 * Provider side of one stream: pulls the handler's events, waits for window room (P5), signs and sends each as a
 * frame, then sends exactly one terminal. An event carrying chunk `bytes` is signed without them and its bytes
 * follow as binary parts (binary-parts.ts), under the same window slot. If the caller cancels or the link closes,
 * nothing more is sent and the handler's iterator is closed; if the caller stops acking or the handler fails, the
 * terminal is an `error`.
 */
import { HearthError } from '../core/index.js';
import { untilAborted } from './abort.js';
import { binaryPartsOf, splitChunkData } from './binary-parts.js';
import type { FrameSigner } from './frame-signer.js';
import { STREAM_EVENT_PATTERN } from './frame-schemas.js';
import { TERMINAL_EVENTS, type StreamEvent } from './frame-types.js';
import type { SessionPort } from './peer-session.js';
import type { SendWindow } from './send-window.js';
import { toWireError } from './wire-error.js';

export interface StreamPumpOptions {
  events: AsyncIterable<StreamEvent>;
  requestId: string;
  session: SessionPort;
  signer: FrameSigner;
  window: SendWindow;
  /** Aborted from outside on cancel or link close; aborted here when the stream fails. */
  controller: AbortController;
}

const EVENT_NAME = new RegExp(STREAM_EVENT_PATTERN);

function checkEvent(item: unknown): StreamEvent {
  const event = (item as StreamEvent | null)?.event;
  if (typeof event !== 'string' || !EVENT_NAME.test(event) || TERMINAL_EVENTS.has(event)) {
    // Terminal frames belong to the layer: a handler ends a stream by returning or throwing.
    throw new HearthError('internal_error', `handler yielded an invalid stream event ${JSON.stringify(event)}`);
  }
  return item as StreamEvent;
}

export async function pumpStream(options: StreamPumpOptions): Promise<void> {
  const { requestId, session, signer, window, controller } = options;
  const { signal } = controller;
  const iterator = options.events[Symbol.asyncIterator]();
  let terminal: StreamEvent;
  try {
    for (;;) {
      const step = await untilAborted(iterator.next(), signal);
      if (step.done) {
        terminal = { event: 'done', data: step.value ?? {} };
        break;
      }
      const { event, data } = checkEvent(step.value);
      const chunk = splitChunkData(data);
      const seq = await window.reserve(signal);
      const frame = await signer.stream(requestId, seq, event, chunk ? chunk.data : data).catch((err: unknown) => {
        throw new HearthError('internal_error', HearthError.from(err).message);
      });
      await session.send(frame);
      if (chunk) {
        for (const part of binaryPartsOf(requestId, seq, chunk.bytes)) {
          if (signal.aborted) throw signal.reason;
          await session.send(part);
        }
      }
    }
  } catch (err) {
    // Aborted from outside means the caller cancelled or the link closed: nobody is listening for a terminal.
    const cancelled = signal.aborted;
    if (!cancelled) controller.abort(err); // ack timeout or handler failure: the handler must stop too
    void iterator.return?.()?.catch(() => {});
    if (cancelled) return;
    terminal = { event: 'error', data: toWireError(err) };
  }
  await sendTerminal(options, terminal);
}

async function sendTerminal({ requestId, session, signer, window }: StreamPumpOptions, terminal: StreamEvent): Promise<void> {
  const seq = window.lastSeq + 1;
  try {
    let frame;
    try {
      frame = await signer.stream(requestId, seq, terminal.event, terminal.data);
    } catch (err) {
      // The done data was not portable JSON: the handler's fault, reported as the server's.
      frame = await signer.stream(requestId, seq, 'error', toWireError(new HearthError('internal_error', HearthError.from(err).message)));
    }
    await session.send(frame);
  } catch {
    // The link failed under us; its close handler tells everyone else.
  }
}

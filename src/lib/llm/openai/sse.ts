/**
 * Server-sent events, parsed as the WHATWG "event stream" rules say (the parts a model server uses): lines end
 * in LF, CRLF or CR; `:` starts a comment; `data:` lines join with `\n`; an empty line dispatches; one leading
 * BOM is dropped. The text may be cut anywhere — inside a line, between CR and LF, inside a UTF-8 sequence
 * (the byte reader decodes with `stream: true`) — and the result is the same.
 *
 * Written here rather than taken from npm: it is ~100 lines, has no dependencies and runs unchanged in a
 * browser, a worker and Node.
 */

export interface SseEvent {
  /** `message` unless the server named it with `event:`. */
  event: string;
  data: string;
  /** The last `id:` seen so far in the stream (the spec's "last event ID"), or '' if none. */
  id: string;
}

/** Incremental parser: push text as it arrives, take the events it completed. */
export class SseParser {
  private buffer = '';
  private started = false;
  /** The previous chunk ended in CR, so an LF at the start of the next one belongs to that line end. */
  private pendingCr = false;
  private eventName = '';
  private dataLines: string[] = [];
  private lastId = '';

  push(text: string): SseEvent[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;

    const events: SseEvent[] = [];
    let lineStart = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 0x0a && ch !== 0x0d) continue;
      const line = this.buffer.slice(lineStart, i);
      if (ch === 0x0d) {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer.charCodeAt(i + 1) === 0x0a) i++;
      }
      lineStart = i + 1;
      const event = this.takeLine(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(lineStart);
    return events;
  }

  /**
   * The stream ended. A last event whose lines all ended but that lacks the closing blank line is still
   * delivered (some servers omit it after `[DONE]`); an event with a line cut off mid-way is dropped — the
   * sender never finished writing it.
   */
  finish(): SseEvent[] {
    const cutOff = this.buffer.length > 0;
    this.buffer = '';
    this.pendingCr = false;
    const event = this.dispatch();
    return event && !cutOff ? [event] : [];
  }

  private takeLine(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventName = value;
    else if (field === 'id' && !value.includes('\u0000')) this.lastId = value;
    // `retry:` and unknown fields are ignored: we never reconnect a generation.
    return null;
  }

  private dispatch(): SseEvent | null {
    const hasData = this.dataLines.length > 0;
    const event: SseEvent = { event: this.eventName || 'message', data: this.dataLines.join('\n'), id: this.lastId };
    this.eventName = '';
    this.dataLines = [];
    return hasData ? event : null;
  }
}

/**
 * Reads a byte stream as events. Reader errors (an abort, a reset connection) propagate to the caller; when
 * the caller stops early the reader is cancelled, which closes the connection underneath.
 */
export async function* readSseEvents(body: ReadableStream<Uint8Array>, onBytes?: () => void): AsyncGenerator<SseEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onBytes?.();
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    finished = true;
    yield* parser.push(decoder.decode());
    yield* parser.finish();
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

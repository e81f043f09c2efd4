import { describe, expect, it } from 'vitest';
import { SseParser, readSseEvents, type SseEvent } from '../../../src/lib/llm/openai/sse.js';

function parseAll(...chunks: string[]): SseEvent[] {
  const parser = new SseParser();
  return [...chunks.flatMap((c) => parser.push(c)), ...parser.finish()];
}

function streamOf(chunks: Uint8Array[], onCancel?: () => void): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else controller.close();
    },
    cancel: () => onCancel?.()
  });
}

async function readAll(chunks: Uint8Array[]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSseEvents(streamOf(chunks))) events.push(event);
  return events;
}

const message = (data: string, extra: Partial<SseEvent> = {}): SseEvent => ({ event: 'message', data, id: '', ...extra });

/** A stream with every feature at once: BOM, comments, CRLF, CR, LF, multi-line data, event names, ids, non-ASCII. */
const SAMPLE =
  '\ufeff: keep-alive comment\r\n\r\n' +
  'data: {"choices":[{"delta":{"content":"Grüße "}}]}\r\n\r\n' +
  'data: crlf one\r\ndata: crlf two\r\n\r\n' +
  'event: note\rid: 7\rdata: first line\rdata:second line\r\r' +
  'data: 🔥 fire\n' +
  ':comment between lines\n' +
  'data:  two spaces keep one\n\n' +
  'data: [DONE]\n\n';

const SAMPLE_EVENTS: SseEvent[] = [
  message('{"choices":[{"delta":{"content":"Grüße "}}]}'),
  message('crlf one\ncrlf two'),
  { event: 'note', data: 'first line\nsecond line', id: '7' },
  message('🔥 fire\n two spaces keep one', { id: '7' }),
  message('[DONE]', { id: '7' })
];

describe('SSE parser', () => {
  it('parses a sample with BOM, comments, CRLF, CR, multi-line data, names and ids', () => {
    expect(parseAll(SAMPLE)).toEqual(SAMPLE_EVENTS);
  });

  it('gives the same events when the bytes are split at every offset (UTF-8 sequences and CRLF cut too)', async () => {
    const bytes = new TextEncoder().encode(SAMPLE);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(await readAll([bytes.slice(0, cut), bytes.slice(cut)]), `cut at byte ${cut}`).toEqual(SAMPLE_EVENTS);
    }
  });

  it('gives the same events when every byte arrives alone', async () => {
    const bytes = new TextEncoder().encode(SAMPLE);
    expect(await readAll(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(SAMPLE_EVENTS);
  });

  it('splits on CRLF once: a CR at the end of one chunk and LF at the start of the next are one line end', () => {
    expect(parseAll('data: a\r', '\ndata: b\r', '\n\r', '\n')).toEqual([message('a\nb')]);
  });

  it('ignores comments and events without data; an empty data line is an event with empty data', () => {
    expect(parseAll(': just a comment\n\nevent: ping\n\nretry: 100\n\ndata:\n\n')).toEqual([message('')]);
  });

  it('treats a line without a colon as a field with an empty value', () => {
    expect(parseAll('data\n\n')).toEqual([message('')]);
  });

  it('delivers a last event that lacks its closing blank line', () => {
    expect(parseAll('data: [DONE]\n')).toEqual([message('[DONE]')]);
  });

  it('drops a last event whose line was cut off mid-way', () => {
    expect(parseAll('data: {"a":1}\n\ndata: {"choices":[{"del')).toEqual([message('{"a":1}')]);
  });

  it('cancels the byte stream when the reader stops early', async () => {
    let cancelled = false;
    const bytes = new TextEncoder().encode('data: 1\n\ndata: 2\n\n');
    for await (const event of readSseEvents(streamOf([bytes, bytes], () => (cancelled = true)))) {
      expect(event.data).toBe('1');
      break;
    }
    expect(cancelled).toBe(true);
  });
});

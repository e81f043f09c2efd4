/** Splitting a blob into CHUNK_SIZE_BYTES pieces, from bytes or from a stream whose pieces have any size. */
import { CHUNK_SIZE_BYTES } from '../core/index.js';

export type BlobInput = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Yields 256 KiB chunks (the last may be shorter); an empty input yields one empty chunk (DESIGN §3.10). */
export async function* chunksOf(input: BlobInput): AsyncGenerator<Uint8Array> {
  if (input instanceof Uint8Array) {
    if (input.length === 0) yield new Uint8Array(0);
    for (let at = 0; at < input.length; at += CHUNK_SIZE_BYTES) yield input.subarray(at, at + CHUNK_SIZE_BYTES);
    return;
  }
  let buffer = new Uint8Array(CHUNK_SIZE_BYTES);
  let filled = 0;
  let yielded = false;
  for await (const piece of iterate(input)) {
    if (!(piece instanceof Uint8Array)) throw new TypeError('chunksOf: stream yielded something other than Uint8Array');
    let at = 0;
    while (at < piece.length) {
      const take = Math.min(CHUNK_SIZE_BYTES - filled, piece.length - at);
      buffer.set(piece.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === CHUNK_SIZE_BYTES) {
        yield buffer;
        yielded = true;
        // A fresh buffer: the consumer may keep the one it was given.
        buffer = new Uint8Array(CHUNK_SIZE_BYTES);
        filled = 0;
      }
    }
  }
  if (filled > 0 || !yielded) yield buffer.slice(0, filled);
}

async function* iterate(input: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (Symbol.asyncIterator in input) {
    yield* input as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (input as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

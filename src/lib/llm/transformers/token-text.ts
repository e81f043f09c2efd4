/**
 * Turning generated token ids into streamed text, one token at a time (stop sequences: ../stop-matcher.ts).
 * Pure: the tokenizer comes in as a `decode` function.
 */

/** `ids` → text, special tokens skipped, no clean-up of spaces (the engine passes the tokenizer's decode). */
export type DecodeIds = (ids: number[]) => string;

/** A decoder that has not yet seen enough bytes to finish a character ends in U+FFFD. */
const INCOMPLETE = '\uFFFD';
/** Prompt tokens kept as context: enough for SentencePiece decoders, which drop the first token's leading space. */
const CONTEXT_TOKENS = 4;

/**
 * The text each new token adds. Decoding a token alone is wrong in two ways — a UTF-8 character split over byte
 * tokens decodes to U+FFFD until its last byte arrives, and SentencePiece-style decoders strip the leading space of
 * the first token — so this decodes a short window ending at the new token and emits what it adds to the window
 * without it (the "prefix offset / read offset" method of text-generation-inference).
 */
export class IncrementalDecoder {
  private readonly ids: number[];
  private prefixOffset: number;
  private readOffset: number;

  /** `context`: the prompt's ids (only the last few are kept). */
  constructor(
    private readonly decode: DecodeIds,
    context: readonly number[] = []
  ) {
    this.ids = context.slice(-CONTEXT_TOKENS);
    this.prefixOffset = 0;
    this.readOffset = this.ids.length;
  }

  /** Adds one token; returns the text it completes ('' while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = this.decode(this.ids.slice(this.prefixOffset));
    if (after.length <= before.length || after.endsWith(INCOMPLETE)) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return after.slice(before.length);
  }

  /** At the end: whatever is still held back (an unfinished character comes out as U+FFFD, as the model made it). */
  flush(): string {
    if (this.readOffset === this.ids.length) return '';
    const before = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = this.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return after.slice(before.length);
  }
}

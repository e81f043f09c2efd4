/**
 * Stop sequences, matched on our side of an engine (WebLLM, transformers.js). WebLLM does honour `stop`, but it
 * reports `finish_reason: "stop"` both for the model's own end and for a stop string, and cuts the string out, so the
 * engine could not tell 'stop_sequence' from 'end'; transformers.js has no stop strings at all. Matching here gives
 * the exact reason; the engine then stops generating.
 *
 * Text that could be the start of a stop string is held back until it is clear it is not, so a stop string never
 * reaches the caller, even when it arrives split across tokens.
 */
export interface StopStep {
  /** Text that is safe to pass on now. */
  emit: string;
  /** The stop string that matched (everything before it is in `emit`), or null. */
  matched: string | null;
}

export class StopMatcher {
  private held = '';
  private readonly stops: readonly string[];
  /** A stop string matched: everything after it is dropped. */
  stopped = false;

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s !== '');
  }

  push(text: string): StopStep {
    if (this.stopped) return { emit: '', matched: null };
    const buffer = this.held + text;
    if (this.stops.length === 0) return { emit: buffer, matched: null };
    let at = -1;
    let matched: string | null = null;
    for (const stop of this.stops) {
      const i = buffer.indexOf(stop);
      // Earliest match wins; at the same place the longer string (it contains the shorter one's start).
      if (i >= 0 && (at < 0 || i < at || (i === at && stop.length > matched!.length))) {
        at = i;
        matched = stop;
      }
    }
    if (matched !== null) {
      this.held = '';
      this.stopped = true;
      return { emit: buffer.slice(0, at), matched };
    }
    const keep = this.heldSuffixLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), matched: null };
  }

  /** The stream ended without a match: whatever was held back is ordinary text. */
  flush(): string {
    const rest = this.stopped ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest end of `buffer` that is a proper beginning of some stop string. */
  private heldSuffixLength(buffer: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, buffer.length); n > longest; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}

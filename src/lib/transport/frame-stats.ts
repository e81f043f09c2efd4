/** Counters of inbound frames dropped, by wire code: what `stats()` reports, and what a UI shows as mesh health. */
import { ERROR_CODES, type ErrorCode } from '../core/index.js';

export type RejectionCounts = Record<ErrorCode, number>;

export class FrameStats {
  private readonly rejected = Object.fromEntries(ERROR_CODES.map((code) => [code, 0])) as RejectionCounts;

  countRejected(code: ErrorCode): void {
    this.rejected[code]++;
  }

  snapshot(): RejectionCounts {
    return { ...this.rejected };
  }
}

/**
 * Per-client message budget (B5): at most `perSecond` messages in each one-second window; the rest are dropped.
 * The client is told at most once a second, so a flood cannot turn the bridge into an amplifier of error replies.
 */
export const RATE_WINDOW_MS = 1000;

export class MessageBudget {
  private windowStartMs = -Infinity;
  private usedInWindow = 0;
  private lastReportMs = -Infinity;

  constructor(private readonly perSecond: number) {}

  /** True when this message fits the budget; false means drop it. */
  take(nowMs: number): boolean {
    if (nowMs - this.windowStartMs >= RATE_WINDOW_MS) {
      this.windowStartMs = nowMs;
      this.usedInWindow = 0;
    }
    this.usedInWindow++;
    return this.usedInWindow <= this.perSecond;
  }

  /** True at most once per window: whether a dropped message should also be answered with rate_limited. */
  shouldReport(nowMs: number): boolean {
    if (nowMs - this.lastReportMs < RATE_WINDOW_MS) return false;
    this.lastReportMs = nowMs;
    return true;
  }

  /** Milliseconds until the current window ends, for `retry_after_ms`. */
  retryAfterMs(nowMs: number): number {
    return Math.max(0, Math.ceil(this.windowStartMs + RATE_WINDOW_MS - nowMs));
  }
}

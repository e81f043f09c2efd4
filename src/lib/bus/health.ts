/**
 * Rolling health per (node, capability) (M03 §3.3, §5.7): the last HEALTH_WINDOW_CALLS outcomes, their p50/p99
 * latency and success rate. Below HEALTH_QUARANTINE_THRESHOLD — once there are HEALTH_MIN_SAMPLES samples, so one
 * early failure cannot condemn a provider — the entry is quarantined for HEALTH_QUARANTINE_SECONDS. The first call
 * after that is a probe: success clears the history, failure quarantines again at once.
 */
import { HEALTH_QUARANTINE_SECONDS, HEALTH_QUARANTINE_THRESHOLD, HEALTH_WINDOW_CALLS, type Clock } from '../core/index.js';

/** Fewest outcomes before a success rate can quarantine. */
export const HEALTH_MIN_SAMPLES = 5;

export interface HealthStats {
  samples: number;
  successRate: number;
  /** 0 while nothing is known. */
  p50Ms: number;
  p99Ms: number;
  /** Clock ms; 0 when not quarantined. */
  quarantinedUntil: number;
  /** The quarantine ran out and the next outcome decides. */
  probing: boolean;
}

interface Window {
  ok: boolean[];
  ms: number[];
  next: number;
  successes: number;
  stats: HealthStats;
  /** Percentiles are recomputed when read, not on every call: most calls never ask. */
  dirty: boolean;
}

export interface HealthOptions {
  clock: Clock;
  window?: number;
  threshold?: number;
  quarantineMs?: number;
  minSamples?: number;
  onQuarantine?: (key: string, stats: HealthStats) => void;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const UNKNOWN: HealthStats = { samples: 0, successRate: 1, p50Ms: 0, p99Ms: 0, quarantinedUntil: 0, probing: false };

export class HealthTracker {
  private readonly windows = new Map<string, Window>();
  private readonly size: number;
  private readonly threshold: number;
  private readonly quarantineMs: number;
  private readonly minSamples: number;

  constructor(private readonly options: HealthOptions) {
    this.size = options.window ?? HEALTH_WINDOW_CALLS;
    this.threshold = options.threshold ?? HEALTH_QUARANTINE_THRESHOLD;
    this.quarantineMs = options.quarantineMs ?? HEALTH_QUARANTINE_SECONDS * 1000;
    this.minSamples = options.minSamples ?? HEALTH_MIN_SAMPLES;
  }

  stats(key: string): HealthStats {
    const window = this.windows.get(key);
    if (!window) return UNKNOWN;
    if (window.dirty) {
      const sorted = [...window.ms].sort((a, b) => a - b);
      window.stats = { ...window.stats, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
      window.dirty = false;
    }
    return window.stats;
  }

  /** Quarantined now. Once the period ends the entry is eligible again, marked as probing. */
  isQuarantined(key: string): boolean {
    const window = this.windows.get(key);
    if (!window || window.stats.quarantinedUntil === 0) return false;
    if (this.options.clock.now() < window.stats.quarantinedUntil) return true;
    window.stats = { ...window.stats, quarantinedUntil: 0, probing: true };
    return false;
  }

  record(key: string, success: boolean, latencyMs: number): void {
    let window = this.windows.get(key);
    if (!window) {
      window = { ok: [], ms: [], next: 0, successes: 0, stats: UNKNOWN, dirty: false };
      this.windows.set(key, window);
    }
    if (window.stats.probing) {
      if (success) {
        this.windows.delete(key); // M03 §5.7: a good probe resets the history
        this.record(key, true, latencyMs);
        return;
      }
      this.quarantine(key, window);
      return;
    }
    if (window.ok.length < this.size) {
      window.ok.push(success);
      window.ms.push(latencyMs);
    } else {
      if (window.ok[window.next]) window.successes--;
      window.ok[window.next] = success;
      window.ms[window.next] = latencyMs;
      window.next = (window.next + 1) % this.size;
    }
    if (success) window.successes++;
    window.dirty = true;
    window.stats = {
      ...window.stats,
      samples: window.ok.length,
      successRate: window.successes / window.ok.length,
      quarantinedUntil: window.stats.quarantinedUntil,
      probing: false
    };
    if (window.stats.samples >= this.minSamples && window.stats.successRate < this.threshold) this.quarantine(key, window);
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  private quarantine(key: string, window: Window): void {
    window.stats = { ...window.stats, quarantinedUntil: this.options.clock.now() + this.quarantineMs, probing: false };
    this.options.onQuarantine?.(key, window.stats);
  }
}

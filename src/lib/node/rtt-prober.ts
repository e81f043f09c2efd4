/**
 * Measures every peer's round trip with a ping every few seconds. A probe still in flight is not doubled up: a
 * slow or lossy peer costs at most one outstanding ping. Failures are silent here; P7 pruning deals with peers
 * that stay quiet.
 */
import type { Scheduler, TimerHandle } from '../transport/index.js';

export const PROBE_INTERVAL_MS = 5_000;

export interface RttProberOptions {
  scheduler: Scheduler;
  intervalMs?: number;
  peers: () => string[];
  probe: (nodeId: string) => Promise<unknown>;
}

export class RttProber {
  private readonly inFlight = new Set<string>();
  private timer: TimerHandle | null = null;

  constructor(private readonly options: RttProberOptions) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = this.options.scheduler.setInterval(() => this.probeAll(), this.options.intervalMs ?? PROBE_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer === null) return;
    this.options.scheduler.clearInterval(this.timer);
    this.timer = null;
  }

  probeAll(): void {
    for (const nodeId of this.options.peers()) {
      if (this.inFlight.has(nodeId)) continue;
      this.inFlight.add(nodeId);
      this.options
        .probe(nodeId)
        .catch(() => {})
        .finally(() => this.inFlight.delete(nodeId));
    }
  }
}

/**
 * Every call leaves a trace (M03 §3.6) in a ring of the TRACE_RING_BUFFER most recent (X03 §5.2), and counts in
 * per-capability metrics (X03 §4.2: requests by result, a latency histogram). Listeners see traces as they land,
 * which is how the Mesh page shows calls live.
 */
import { TRACE_RING_BUFFER } from '../core/index.js';

export interface CallTrace {
  ts: string;
  trace_id: string;
  capability: string;
  version: string;
  from_node: string;
  to_node: string;
  is_local: boolean;
  /** "ok" or an error code. */
  result: string;
  ms: number;
  tokens_in: number | null;
  tokens_out: number | null;
  bytes_in: number;
  bytes_out: number;
  /** Ours: `out` when this node called, `in` when it served a peer. */
  direction: 'out' | 'in';
  /** How the call travelled: `local`, or the link path to the other node. */
  path: string | null;
  stream: boolean;
}

export type TraceListener = (trace: CallTrace) => void;

export class TraceRing {
  private readonly items: CallTrace[] = [];
  private next = 0;
  private readonly listeners = new Set<TraceListener>();
  total = 0;

  constructor(readonly capacity: number = TRACE_RING_BUFFER) {}

  push(trace: CallTrace): void {
    if (this.items.length < this.capacity) this.items.push(trace);
    else this.items[this.next] = trace;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
    for (const listener of [...this.listeners]) listener(trace);
  }

  /** Newest first. */
  recent(n = 50): CallTrace[] {
    const out: CallTrace[] = [];
    const count = Math.min(n, this.items.length);
    for (let i = 1; i <= count; i++) out.push(this.items[(this.next - i + this.items.length) % this.items.length]);
    return out;
  }

  get size(): number {
    return this.items.length;
  }

  subscribe(listener: TraceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Upper bounds in ms (Prometheus `le`), with +Inf implied. */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000] as const;

export interface CapabilityMetrics {
  /** Count by result ("ok" or an error code). */
  requests: Record<string, number>;
  /** Cumulative counts per LATENCY_BUCKETS_MS bound, then +Inf. */
  buckets: number[];
  sumMs: number;
  count: number;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class BusMetrics {
  private readonly byCapability = new Map<string, CapabilityMetrics>();
  private readonly rateLimited = new Map<string, number>();

  record(capability: string, result: string, ms: number): void {
    let metrics = this.byCapability.get(capability);
    if (!metrics) {
      metrics = { requests: {}, buckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 };
      this.byCapability.set(capability, metrics);
    }
    metrics.requests[result] = (metrics.requests[result] ?? 0) + 1;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]) metrics.buckets[i]++;
    metrics.buckets[LATENCY_BUCKETS_MS.length]++;
    metrics.sumMs += ms;
    metrics.count++;
  }

  countRateLimited(capability: string, reason: string): void {
    const key = `${capability} ${reason}`;
    this.rateLimited.set(key, (this.rateLimited.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, CapabilityMetrics> {
    return Object.fromEntries([...this.byCapability].map(([name, m]) => [name, { ...m, requests: { ...m.requests }, buckets: [...m.buckets] }]));
  }

  /** Prometheus text exposition (X03 §4.3) of the bus's share of the standard metric set. */
  prometheus(health: { capability: string; node: string; successRate: number }[] = []): string {
    const lines: string[] = [
      '# HELP hearthnet_requests_total Capability calls by result.',
      '# TYPE hearthnet_requests_total counter'
    ];
    for (const [cap, m] of this.byCapability) {
      for (const [result, n] of Object.entries(m.requests)) lines.push(`hearthnet_requests_total{capability="${escapeLabel(cap)}",result="${escapeLabel(result)}"} ${n}`);
    }
    lines.push('# HELP hearthnet_request_duration_ms Capability call latency.', '# TYPE hearthnet_request_duration_ms histogram');
    for (const [cap, m] of this.byCapability) {
      const c = escapeLabel(cap);
      LATENCY_BUCKETS_MS.forEach((le, i) => lines.push(`hearthnet_request_duration_ms_bucket{capability="${c}",le="${le}"} ${m.buckets[i]}`));
      lines.push(`hearthnet_request_duration_ms_bucket{capability="${c}",le="+Inf"} ${m.buckets[LATENCY_BUCKETS_MS.length]}`);
      lines.push(`hearthnet_request_duration_ms_sum{capability="${c}"} ${m.sumMs}`, `hearthnet_request_duration_ms_count{capability="${c}"} ${m.count}`);
    }
    lines.push('# HELP hearthnet_rate_limited_total Calls refused or dropped by rate budgets.', '# TYPE hearthnet_rate_limited_total counter');
    for (const [key, n] of this.rateLimited) {
      const [cap, reason] = key.split(' ');
      lines.push(`hearthnet_rate_limited_total{capability="${escapeLabel(cap)}",reason="${escapeLabel(reason)}"} ${n}`);
    }
    lines.push('# HELP hearthnet_capability_health_success_rate Rolling success rate per provider.', '# TYPE hearthnet_capability_health_success_rate gauge');
    for (const h of health) lines.push(`hearthnet_capability_health_success_rate{capability="${escapeLabel(h.capability)}",node="${escapeLabel(h.node)}"} ${h.successRate}`);
    return lines.join('\n') + '\n';
  }
}

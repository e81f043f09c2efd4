/**
 * Picks the provider for a call (M03 §5.4): candidates that match name and version, accept the requested params,
 * are not quarantined, have room, and were heard from within the freshness window; then this node when it is not
 * busy, else the lowest score. Sticky sessions (§5.6) keep a conversation on one provider while it stays viable.
 */
import { HearthError, type Clock } from '../core/index.js';
import { label, type CapabilityEntry, type ParamsCompatible } from './capability.js';
import type { HealthTracker } from './health.js';
import type { Registry } from './registry.js';

export const FRESHNESS_WINDOW_MS = 60_000;
export const STICKY_IDLE_MS = 10 * 60_000;
/** M03 §5.4: a provider we have no latency for is assumed to take this long. */
export const UNKNOWN_LATENCY_MS = 500;
export const LOCALITY_BONUS = 50;
export const RELIABILITY_PENALTY = 1000;
/** When every candidate is busy and we know nothing better, try again after this long. */
export const DEFAULT_RETRY_AFTER_MS = 1000;

export interface RouteRequest {
  name: string;
  versionReq: string;
  /** `body.params` of the call. */
  params: Record<string, unknown>;
  sessionId?: string;
  /** Only this node may serve it (a call addressed to one peer). */
  node?: string;
  /** Entries already tried by this call (failover). */
  exclude?: ReadonlySet<string>;
  /** Only providers that speak exactly this schema. */
  schemaHash?: string;
}

export interface RouterOptions {
  registry: Registry;
  health: HealthTracker;
  clock: Clock;
  paramsCompatible: (name: string) => ParamsCompatible;
  preferLocal?: boolean;
  localLoadThreshold?: number;
  freshnessMs?: number;
  stickyIdleMs?: number;
}

interface Binding {
  key: string;
  lastUsedMs: number;
}

export class Router {
  private readonly sessions = new Map<string, Binding>();
  private readonly preferLocal: boolean;
  private readonly localLoadThreshold: number;
  private readonly freshnessMs: number;
  private readonly stickyIdleMs: number;

  constructor(private readonly options: RouterOptions) {
    this.preferLocal = options.preferLocal ?? true;
    this.localLoadThreshold = options.localLoadThreshold ?? 0.8;
    this.freshnessMs = options.freshnessMs ?? FRESHNESS_WINDOW_MS;
    this.stickyIdleMs = options.stickyIdleMs ?? STICKY_IDLE_MS;
  }

  /** M03 §5.4; lower is better. */
  score(entry: CapabilityEntry): number {
    const stats = this.options.health.stats(entry.key);
    const latency = stats.p50Ms > 0 ? stats.p50Ms : UNKNOWN_LATENCY_MS;
    const load = entry.inFlight / Math.max(entry.maxConcurrent, 1);
    const reliabilityPenalty = (1 - stats.successRate) * RELIABILITY_PENALTY;
    const localityBonus = entry.isLocal ? LOCALITY_BONUS : 0;
    return latency * (1 + load) + reliabilityPenalty - localityBonus;
  }

  /** The chosen entry; throws the most useful HearthError when there is none. */
  route(req: RouteRequest): CapabilityEntry {
    if (req.sessionId !== undefined) {
      const bound = this.sessions.get(req.sessionId);
      const entry = bound && this.options.registry.get(bound.key);
      if (entry && !req.exclude?.has(entry.key) && this.viable(entry, req)) {
        bound.lastUsedMs = this.options.clock.now();
        return entry;
      }
    }
    const entry = this.pick(req);
    if (req.sessionId !== undefined) this.sessions.set(req.sessionId, { key: entry.key, lastUsedMs: this.options.clock.now() });
    return entry;
  }

  /** The entry a session is bound to, if any. */
  boundTo(sessionId: string): string | undefined {
    return this.sessions.get(sessionId)?.key;
  }

  releaseSession(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /** A provider left: its sessions unbind, and their next call picks afresh (M03 §5.6). */
  releaseEntries(keys: Iterable<string>): void {
    const gone = new Set(keys);
    for (const [id, binding] of this.sessions) if (gone.has(binding.key)) this.sessions.delete(id);
  }

  /** Drops sessions idle for longer than the sticky TTL. */
  sweep(): void {
    const cutoff = this.options.clock.now() - this.stickyIdleMs;
    for (const [id, binding] of this.sessions) if (binding.lastUsedMs < cutoff) this.sessions.delete(id);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private pick(req: RouteRequest): CapabilityEntry {
    const { registry } = this.options;
    const matching = registry
      .find(req.name, req.versionReq)
      .filter((entry) => (req.node === undefined || entry.nodeId === req.node) && !req.exclude?.has(entry.key));
    const candidates = matching.filter((entry) => this.viable(entry, req));
    if (candidates.length === 0) throw this.whyNone(req, matching);
    if (this.preferLocal) {
      const local = candidates.find((entry) => entry.isLocal);
      if (local && local.inFlight / Math.max(local.maxConcurrent, 1) < this.localLoadThreshold) return local;
    }
    // M03 §5.7: once a quarantine ends, the next call is the probe. Its old failures would keep it last by score
    // for ever, so it goes first (one probe at a time); success resets its history, failure quarantines it again.
    const probe = candidates.find((entry) => entry.inFlight === 0 && this.options.health.stats(entry.key).probing);
    if (probe) return probe;
    let best = candidates[0];
    let bestScore = this.score(best);
    for (const entry of candidates.slice(1)) {
      const score = this.score(entry);
      if (score < bestScore) {
        best = entry;
        bestScore = score;
      }
    }
    return best;
  }

  private viable(entry: CapabilityEntry, req: RouteRequest): boolean {
    return (
      (req.node === undefined || entry.nodeId === req.node) &&
      (req.schemaHash === undefined || entry.schemaHash === req.schemaHash) &&
      // A peer's self-only capability can never serve us (we do not advertise ours).
      (entry.isLocal || entry.trustRequired !== 'self') &&
      !this.options.health.isQuarantined(entry.key) &&
      entry.inFlight < entry.maxConcurrent &&
      (entry.isLocal || entry.lastSeenMs > this.options.clock.now() - this.freshnessMs) &&
      this.paramsFit(entry, req)
    );
  }

  private paramsFit(entry: CapabilityEntry, req: RouteRequest): boolean {
    try {
      return this.options.paramsCompatible(entry.name)(entry.params, req.params);
    } catch {
      return false; // a predicate that throws on odd params means "not this one"
    }
  }

  private whyNone(req: RouteRequest, matching: CapabilityEntry[]): HearthError {
    const wanted = label(req.name, req.versionReq);
    const where = req.node !== undefined ? ` on ${req.node}` : '';
    if (matching.length === 0) {
      const alternatives =
        req.node === undefined
          ? this.options.registry.versionsOf(req.name)
          : this.options.registry.all().filter((e) => e.nodeId === req.node && e.name === req.name).map((e) => label(e.name, e.version));
      if (alternatives.length > 0 && !req.exclude?.size) {
        return new HearthError('schema_mismatch', `${wanted} is not offered${where}; the mesh has ${alternatives.join(', ')}`, {
          extra: { alt_capabilities: alternatives }
        });
      }
      return new HearthError(req.exclude?.size ? 'partition' : 'not_found', req.exclude?.size ? `no other node offers ${wanted}${where}` : `no node offers ${wanted}${where}`);
    }
    const schemaFit = matching.filter((entry) => req.schemaHash === undefined || entry.schemaHash === req.schemaHash);
    if (schemaFit.length === 0) {
      return new HearthError('schema_mismatch', `no provider of ${wanted}${where} speaks schema ${req.schemaHash}`, {
        extra: { schema_hash_expected: req.schemaHash }
      });
    }
    const paramsFit = schemaFit.filter((entry) => this.paramsFit(entry, req));
    if (paramsFit.length === 0) {
      return new HearthError('not_found', `no provider of ${wanted}${where} accepts params ${JSON.stringify(req.params)}`);
    }
    const now = this.options.clock.now();
    const healthy = paramsFit.filter((entry) => !this.options.health.isQuarantined(entry.key));
    if (healthy.length === 0) {
      const until = Math.min(...paramsFit.map((entry) => this.options.health.stats(entry.key).quarantinedUntil));
      return new HearthError('partition', `every provider of ${wanted}${where} is quarantined after failing calls`, {
        retryAfterMs: Math.max(0, until - now)
      });
    }
    const fresh = healthy.filter((entry) => entry.isLocal || entry.lastSeenMs > now - this.freshnessMs);
    if (fresh.length === 0) return new HearthError('partition', `no provider of ${wanted}${where} has been heard from in the last ${this.freshnessMs / 1000} s`);
    const soonest = Math.min(...fresh.map((entry) => this.options.health.stats(entry.key).p50Ms || DEFAULT_RETRY_AFTER_MS));
    return new HearthError('capacity_exceeded', `every provider of ${wanted}${where} is at its concurrency limit`, {
      retryAfterMs: Math.ceil(soonest)
    });
  }
}

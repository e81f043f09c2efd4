/**
 * The capability bus (M03 §3.7): services register capabilities here, callers ask for one by name and version,
 * and the bus picks the provider — this node or a peer — and carries the call, streams included. Inbound peer
 * calls arrive through `handle` (the transport's CallHandler port) after their frame was verified. The bus knows
 * no transport: remote calls go out through the RemoteCalls port the composition root wires to the rpc layer.
 */
import { HearthError, canonicalJson, rfc3339, STABILITIES, type CapabilitySpec, type Clock } from '../core/index.js';
import {
  DroppedCall,
  type CallContext,
  type CallHandler,
  type IncomingCall,
  type Scheduler,
  type StreamEvent
} from '../transport/index.js';
import {
  DESCRIPTOR_DEFAULTS,
  TRUST_LEVELS,
  entryKey,
  label,
  parseVersion,
  versionSatisfies,
  type CapabilityDescriptor,
  type CapabilityEntry,
  type CapabilityRegistration,
  type ParamsCompatible
} from './capability.js';
import { sizeOf, type Attempt, type BusCallResult } from './attempt.js';
import { HealthTracker, type HealthOptions } from './health.js';
import { LocalRunner, type LocalCall } from './local-runner.js';
import { namespaceProblem } from './namespace.js';
import { BUILT_IN_PARAMS_COMPATIBLE, anyParams } from './params-compatible.js';
import { RateLimiter, type RateLimits } from './rate-limiter.js';
import { Registry, type RegistryListener } from './registry.js';
import { Router } from './router.js';
import { RegistrationError, SchemaValidator, schemaHashOf } from './schema.js';
import { BusMetrics, TraceRing, type CallTrace, type TraceListener } from './trace.js';
import type { MembershipView } from './trust.js';

/** How the bus reaches other nodes; the composition root wires it to the rpc layer. */
export interface RemoteCalls {
  call(peer: string, capability: string, version: string, body: unknown, options: { timeoutMs: number; requestId: string; signal?: AbortSignal }): Promise<unknown>;
  stream(peer: string, capability: string, version: string, body: unknown, options: { requestId: string; signal?: AbortSignal; idleTimeoutMs: number }): AsyncIterable<StreamEvent>;
  /** The link path calls to `peer` take now (for traces), or null. */
  pathTo(peer: string): string | null;
}

export type { BusCallResult } from './attempt.js';

export type BusLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface BusOptions {
  selfId: string;
  clock: Clock;
  scheduler: Scheduler;
  remote: RemoteCalls;
  membership: MembershipView;
  /** Trace and request ids (ULIDs). */
  nextId: () => string;
  preferLocal?: boolean;
  localLoadThreshold?: number;
  rateLimits?: RateLimits;
  health?: Omit<HealthOptions, 'clock' | 'onQuarantine'>;
  traceCapacity?: number;
  /** Our offer changed (a capability registered or removed): the manifest should be re-signed. */
  onLocalChange?: () => void;
  log?: BusLog;
}

export interface BusCallOptions {
  /** Deadline for a unary answer, or the longest silence between stream events; default the provider's `timeout_seconds`. */
  timeoutMs?: number;
  /** Keeps a multi-turn conversation on one provider (M03 §5.6). */
  sessionId?: string;
  /** Only this node may serve the call. */
  node?: string;
  /** Aborting cancels the call (and the provider's handler) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Only providers speaking exactly this schema (contract §11). */
  schemaHash?: string;
  /** A fresh ULID for the first attempt's trace and request id; default a new one. */
  traceId?: string;
}

/** What a provider shows the UI: the entry with its health. */
export interface CapabilityView {
  key: string;
  nodeId: string;
  name: string;
  version: string;
  isLocal: boolean;
  stability: string;
  params: Record<string, unknown>;
  maxConcurrent: number;
  inFlight: number;
  trustRequired: string | null;
  idempotent: boolean;
  schemaHash: string;
  samples: number;
  successRate: number;
  p50Ms: number;
  p99Ms: number;
  quarantinedUntil: number;
  lastSeenMs: number;
}

/** Where one call is in its walk over candidate providers (contract C7). */
interface FailoverWalk {
  name: string;
  versionReq: string;
  options: BusCallOptions;
  traceId: string;
  tried: Set<string>;
  attempts: number;
  lastError: HearthError | null;
}

/** Outcomes that say the provider is unwell; the caller's own mistakes and refusals for load say nothing. */
const HEALTH_FAILURES: ReadonlySet<string> = new Set(['timeout', 'partition', 'internal_error', 'invalid_signature', 'not_implemented']);
/**
 * Refused before the handler ran: trying another provider is safe for any capability. The bus turns these codes
 * into internal_error when a handler throws them itself, so on the wire they always mean "did not run".
 */
const NOT_EXECUTED: ReadonlySet<string> = new Set(['capacity_exceeded', 'rate_limited', 'unauthorized', 'revoked']);
/**
 * A peer that advertised a capability and then says `not_found` is wrong about itself (or lying to swallow calls):
 * it counts against its health, and the call moves on. Not when the caller chose the node (`options.node`): then
 * `not_found` answers a question about the input ("I do not hold that file"), which any honest peer may give.
 */
const REMOTE_FAILURES: ReadonlySet<string> = new Set(['not_found']);
/** A peer's declared timeout is our default wait only up to this. */
export const MAX_REMOTE_DEFAULT_TIMEOUT_SECONDS = 300;
/** Metrics label for capabilities we neither offer nor know: peers choose names, and labels must stay bounded. */
export const UNKNOWN_CAPABILITY_LABEL = '(unknown)';
/** The handler may have run: only idempotent capabilities fail over. */
const FAILOVER_IF_IDEMPOTENT: ReadonlySet<string> = new Set(['timeout', 'partition', 'internal_error']);
export const MAX_CALL_ATTEMPTS = 3;
export const MAX_CONCURRENT_LIMIT = 1024;
export const MAX_TIMEOUT_SECONDS = 3600;

function paramsOf(body: unknown): Record<string, unknown> {
  const params = (body as { params?: unknown } | null)?.params;
  return params !== null && typeof params === 'object' && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
}

/** Token counts from a unary answer's `meta` or a stream's `done` data (contract §4.1). */
function tokensOf(value: unknown): { tokensIn: number | null; tokensOut: number | null } {
  const record = value as ({ meta?: Record<string, unknown> } & Record<string, unknown>) | null;
  const counts = record?.meta ?? record ?? undefined;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { tokensIn: num(counts?.tokens_in), tokensOut: num(counts?.tokens_out) };
}

export class CapabilityBus implements CallHandler {
  readonly registry: Registry;
  readonly health: HealthTracker;
  readonly router: Router;
  readonly traces: TraceRing;
  readonly metrics = new BusMetrics();
  private readonly schema = new SchemaValidator();
  private readonly limiter: RateLimiter;
  private readonly local: LocalRunner;
  private readonly predicates = new Map<string, ParamsCompatible>();
  /** Own inbound rates asked for by registrations, by capability name. */
  private readonly capabilityRates = new Map<string, number>();
  private readonly log: BusLog;
  /** rfc3339 has whole seconds: one string per second serves every trace in it. */
  private stampSecond = -1;
  private stampText = '';

  constructor(private readonly options: BusOptions) {
    const { clock, selfId } = options;
    this.log = options.log ?? (() => {});
    this.registry = new Registry(selfId, clock);
    this.health = new HealthTracker({
      clock,
      ...options.health,
      onQuarantine: (key, stats) => this.log('warn', 'quarantined', { entry: key, successRate: stats.successRate, until: stats.quarantinedUntil })
    });
    this.router = new Router({
      registry: this.registry,
      health: this.health,
      clock,
      preferLocal: options.preferLocal,
      localLoadThreshold: options.localLoadThreshold,
      paramsCompatible: (name) => this.predicateFor(name)
    });
    this.traces = new TraceRing(options.traceCapacity);
    this.limiter = new RateLimiter(clock, options.rateLimits);
    this.local = new LocalRunner({
      clock,
      scheduler: options.scheduler,
      membership: options.membership,
      schema: this.schema,
      health: this.health,
      record: (entry) => (attempt, result, bytesOut, value) => this.record(entry, attempt, result, bytesOut, undefined, value),
      log: (level, message, fields) => this.log(level, message, fields)
    });
  }

  // --- registration ---

  /**
   * Offers a capability from this node. Throws RegistrationError for a name outside the namespaces
   * (`namespace_violation`), schemas that do not compile (`schema_invalid`), a bad descriptor field or a second
   * registration of the same name@version. Returns a function that withdraws the capability.
   */
  register(registration: CapabilityRegistration): () => void {
    const descriptor = this.describe(registration);
    const schemaHash = schemaHashOf(descriptor);
    this.schema.prepare(descriptor, schemaHash);
    const key = entryKey(this.options.selfId, descriptor.name, descriptor.version);
    const existing = this.registry.get(key);
    if (existing) {
      // M03 §3.2: registering the same descriptor and handler again is harmless; anything else is a clash.
      const same = existing.schemaHash === schemaHash && existing.handler === registration.handler && canonicalJson(existing.descriptor) === canonicalJson(descriptor);
      if (!same) throw new RegistrationError('duplicate', `${label(descriptor.name, descriptor.version)} is already registered on this node with another descriptor or handler`);
      return this.withdrawer(key);
    }
    if (registration.paramsCompatible) this.predicates.set(descriptor.name, registration.paramsCompatible);
    if (registration.ratePerSecond !== undefined) {
      if (!(Number.isInteger(registration.ratePerSecond) && registration.ratePerSecond >= 1)) {
        throw new RegistrationError('bad_descriptor', `ratePerSecond of ${descriptor.name} must be a whole number of calls per second, at least 1`);
      }
      this.capabilityRates.set(descriptor.name, registration.ratePerSecond);
    }
    const entry: CapabilityEntry = {
      key,
      nodeId: this.options.selfId,
      name: descriptor.name,
      version: descriptor.version,
      isLocal: true,
      stability: descriptor.stability,
      schemaHash,
      params: descriptor.params,
      maxConcurrent: descriptor.maxConcurrent,
      trustRequired: descriptor.trustRequired,
      timeoutSeconds: descriptor.timeoutSeconds,
      idempotent: descriptor.idempotent,
      descriptor,
      handler: registration.handler,
      untraced: registration.untraced === true,
      inFlight: 0,
      lastSeenMs: this.options.clock.now()
    };
    this.registry.addLocal(entry);
    this.log('info', 'capability registered', { capability: label(entry.name, entry.version), schemaHash });
    this.options.onLocalChange?.();
    return this.withdrawer(key);
  }

  private withdrawer(key: string): () => void {
    const registered = this.registry.get(key);
    return () => {
      // Only the registration this function came from: a later one under the same name stays.
      if (this.registry.get(key) === registered && this.registry.removeLocal(key)) {
        this.router.releaseEntries([key]);
        this.health.reset(key);
        this.options.onLocalChange?.();
      }
    };
  }

  /** A params predicate for a capability this node calls but may not offer (M03 §5.5). */
  defineParamsCompatible(name: string, predicate: ParamsCompatible): void {
    this.predicates.set(name, predicate);
  }

  /** Our capabilities as node-manifest entries (contract §6.1 plus the optional fields of PROTOCOL.md B7). */
  manifestEntries(): CapabilitySpec[] {
    // `self` capabilities serve only this node: advertising them would only draw calls we must refuse.
    return this.registry.local().filter((entry) => entry.trustRequired !== 'self').map((entry) => ({
      name: entry.name,
      version: entry.version,
      stability: entry.stability,
      schema_hash: entry.schemaHash,
      params: entry.params,
      max_concurrent: entry.maxConcurrent,
      trust_required: entry.trustRequired,
      timeout_seconds: entry.timeoutSeconds,
      idempotent: entry.idempotent
    }));
  }

  get inFlightTotal(): number {
    return this.registry.local().reduce((n, entry) => n + entry.inFlight, 0);
  }

  // --- peers ---

  /** A peer's verified manifest arrived: its capabilities replace what we knew of it. */
  peerManifest(nodeId: string, specs: readonly CapabilitySpec[]): void {
    const diff = this.registry.updateFromManifest(nodeId, specs);
    for (const ignored of diff.ignored) this.log('debug', 'peer capability ignored', { peer: nodeId, ...ignored });
    this.forget(diff.removed.map((entry) => entry.key));
  }

  peerRemoved(nodeId: string): void {
    this.forget(this.registry.removeNode(nodeId).map((entry) => entry.key));
  }

  // --- calls ---

  /** Routes and runs a unary call; resolves with the result, rejects with a HearthError. */
  async call(name: string, versionReq: string, body: unknown, options: BusCallOptions = {}): Promise<unknown> {
    return (await this.invoke(name, versionReq, body, options)).result;
  }

  /** As `call`, with the trace of the attempt that answered. */
  async invoke(name: string, versionReq: string, body: unknown, options: BusCallOptions = {}): Promise<BusCallResult> {
    const walk = this.startFailover(name, versionReq, options);
    for (;;) {
      const { entry, requestId } = this.nextCandidate(walk, body);
      try {
        if (entry.isLocal) {
          const outcome = await this.local.run(entry, body, this.localAttempt(requestId, options), 'unary');
          return outcome as BusCallResult;
        }
        return await this.callRemote(entry, versionReq, body, requestId, options);
      } catch (err) {
        this.afterFailure(walk, entry, err, true);
      }
    }
  }

  /**
   * Routes a streaming call. Yields the provider's events, the last one `done` (its data is the handler's return
   * value); a terminal error throws. Breaking out of the loop or aborting `signal` cancels the provider.
   * Fails over to another provider only before the first event.
   */
  async *stream(name: string, versionReq: string, body: unknown, options: BusCallOptions = {}): AsyncGenerator<StreamEvent, void, undefined> {
    const walk = this.startFailover(name, versionReq, options);
    for (;;) {
      const { entry, requestId } = this.nextCandidate(walk, body);
      const progress = { yielded: 0 };
      try {
        if (entry.isLocal) yield* this.local.stream(entry, body, this.localAttempt(requestId, options), progress);
        else yield* this.streamRemote(entry, versionReq, body, requestId, options, progress);
        return;
      } catch (err) {
        this.afterFailure(walk, entry, err, progress.yielded === 0);
      }
    }
  }

  /** The transport's port: a verified call from a peer, addressed to this node. */
  handle(call: IncomingCall, ctx: CallContext): unknown {
    const started = this.options.clock.now();
    const refuse = (error: HearthError): never => {
      this.record(null, { traceId: ctx.requestId, caller: ctx.caller, direction: 'in', started, bytesIn: 0, stream: false }, error.code, 0, call);
      throw error;
    };
    const verdict = this.limiter.check(ctx.caller, call.capability, this.capabilityRates.get(call.capability));
    if (verdict.kind === 'hard') {
      this.metrics.countRateLimited(this.metricsLabel(call.capability), 'hard');
      throw new DroppedCall(`${ctx.caller} is over the hard rate limit`);
    }
    if (verdict.kind === 'soft') {
      this.metrics.countRateLimited(this.metricsLabel(call.capability), verdict.scope);
      refuse(
        new HearthError('rate_limited', `too many calls ${verdict.scope === 'peer' ? 'from your node' : `to ${call.capability}`}; retry in ${verdict.retryAfterMs} ms`, {
          retryAfterMs: verdict.retryAfterMs
        })
      );
    }
    let entry: CapabilityEntry | null = null;
    try {
      entry = this.localEntryFor(call.capability, call.version);
    } catch (err) {
      refuse(HearthError.from(err));
    }
    return this.local.run(entry!, call.body, { traceId: ctx.requestId, caller: ctx.caller, direction: 'in', signal: ctx.signal }, 'serve');
  }

  // --- introspection ---

  capabilities(): CapabilityView[] {
    return this.registry.all().map((entry) => {
      const stats = this.health.stats(entry.key);
      return {
        key: entry.key,
        nodeId: entry.nodeId,
        name: entry.name,
        version: entry.version,
        isLocal: entry.isLocal,
        stability: entry.stability,
        params: entry.params,
        maxConcurrent: entry.maxConcurrent,
        inFlight: entry.inFlight,
        trustRequired: entry.trustRequired,
        idempotent: entry.idempotent,
        schemaHash: entry.schemaHash,
        samples: stats.samples,
        successRate: stats.successRate,
        p50Ms: stats.p50Ms,
        p99Ms: stats.p99Ms,
        quarantinedUntil: stats.quarantinedUntil,
        lastSeenMs: entry.lastSeenMs
      };
    });
  }

  recentTraces(n = 50): CallTrace[] {
    return this.traces.recent(n);
  }

  subscribeTraces(listener: TraceListener): () => void {
    return this.traces.subscribe(listener);
  }

  subscribeCapabilities(listener: RegistryListener): () => void {
    return this.registry.subscribe(listener);
  }

  prometheus(): string {
    const health = this.registry.all().map((entry) => ({ capability: entry.name, node: entry.nodeId, successRate: this.health.stats(entry.key).successRate }));
    return this.metrics.prometheus(health);
  }

  /** Periodic upkeep: idle sticky sessions expire (M03 §5.6). */
  sweep(): void {
    this.router.sweep();
  }

  // --- internals ---

  private describe(registration: CapabilityRegistration): CapabilityDescriptor {
    const bad = (message: string): never => {
      throw new RegistrationError('bad_descriptor', `${label(registration.name, registration.version)}: ${message}`);
    };
    if (typeof registration.handler !== 'function') bad('handler must be a function');
    const problem = namespaceProblem(registration.name, registration.owner);
    if (problem) throw new RegistrationError('namespace_violation', problem);
    if (!parseVersion(registration.version)) bad('version must be "major.minor", e.g. "1.0"');
    const d: CapabilityDescriptor = {
      ...DESCRIPTOR_DEFAULTS,
      name: registration.name,
      version: registration.version,
      ...Object.fromEntries(
        Object.entries(registration).filter(([key, value]) => value !== undefined && key in DESCRIPTOR_DEFAULTS)
      )
    } as CapabilityDescriptor;
    if (!(STABILITIES as readonly string[]).includes(d.stability)) bad(`stability must be one of ${STABILITIES.join(', ')}`);
    if (!(TRUST_LEVELS as readonly string[]).includes(d.trustRequired)) bad(`trustRequired must be one of ${TRUST_LEVELS.join(', ')}`);
    if (!Number.isInteger(d.maxConcurrent) || d.maxConcurrent < 1 || d.maxConcurrent > MAX_CONCURRENT_LIMIT) bad(`maxConcurrent must be an integer from 1 to ${MAX_CONCURRENT_LIMIT}`);
    if (!(d.timeoutSeconds > 0 && d.timeoutSeconds <= MAX_TIMEOUT_SECONDS)) bad(`timeoutSeconds must be above 0 and at most ${MAX_TIMEOUT_SECONDS}`);
    if (typeof d.idempotent !== 'boolean') bad('idempotent must be true or false');
    if (d.params === null || typeof d.params !== 'object' || Array.isArray(d.params)) bad('params must be an object');
    try {
      canonicalJson(d.params); // it goes into the signed manifest
    } catch (err) {
      bad(`params cannot be signed: ${(err as Error).message}`);
    }
    return d;
  }

  private checkVersion(name: string, versionReq: string): void {
    if (typeof name !== 'string' || name === '') throw new HearthError('bad_request', 'capability name is missing');
    if (typeof versionReq !== 'string' || !parseVersion(versionReq)) throw new HearthError('bad_request', `version ${JSON.stringify(versionReq)} must be "major.minor"`);
  }

  private predicateFor(name: string): ParamsCompatible {
    return this.predicates.get(name) ?? BUILT_IN_PARAMS_COMPATIBLE[name] ?? anyParams;
  }

  private forget(keys: string[]): void {
    if (keys.length === 0) return;
    this.router.releaseEntries(keys);
    for (const key of keys) this.health.reset(key);
  }

  // --- the failover walk shared by unary and streaming calls (contract C7) ---

  private startFailover(name: string, versionReq: string, options: BusCallOptions): FailoverWalk {
    this.checkVersion(name, versionReq);
    return { name, versionReq, options, traceId: options.traceId ?? this.options.nextId(), tried: new Set(), attempts: 0, lastError: null };
  }

  /** The next provider to try, or the error the caller should see when none is left. */
  private nextCandidate(walk: FailoverWalk, body: unknown): { entry: CapabilityEntry; requestId: string } {
    if (walk.attempts >= MAX_CALL_ATTEMPTS) throw walk.lastError!;
    const { name, versionReq, options } = walk;
    let entry: CapabilityEntry;
    try {
      entry = this.router.route({ name, versionReq, params: paramsOf(body), sessionId: options.sessionId, node: options.node, exclude: walk.tried, schemaHash: options.schemaHash });
    } catch (err) {
      throw walk.lastError ?? this.refusedOutbound(name, versionReq, walk.traceId, err);
    }
    walk.tried.add(entry.key);
    // The first attempt carries the trace id; each retry is a new request on the wire.
    const requestId = walk.attempts++ === 0 ? walk.traceId : this.options.nextId();
    return { entry, requestId };
  }

  /** Returns when the call may move to the next provider; otherwise throws what the caller should see. */
  private afterFailure(walk: FailoverWalk, entry: CapabilityEntry, err: unknown, mayRetry: boolean): void {
    const { options } = walk;
    if (options.signal?.aborted) throw options.signal.reason;
    walk.lastError = HearthError.from(err);
    if (!mayRetry || !this.mayFailOver(entry, walk.lastError)) throw walk.lastError;
    if (options.sessionId !== undefined) this.router.releaseSession(options.sessionId);
    this.log('info', 'failing over', { capability: label(walk.name, walk.versionReq), from: entry.nodeId, error: walk.lastError.code });
  }

  private localAttempt(requestId: string, options: BusCallOptions): LocalCall {
    return { traceId: requestId, caller: this.options.selfId, direction: 'out', signal: options.signal, timeoutMs: options.timeoutMs };
  }

  private mayFailOver(entry: CapabilityEntry, error: HearthError): boolean {
    return (
      NOT_EXECUTED.has(error.code) ||
      (!entry.isLocal && REMOTE_FAILURES.has(error.code)) ||
      (entry.idempotent && FAILOVER_IF_IDEMPOTENT.has(error.code))
    );
  }

  /** The local entry serving `name@version` (highest compatible minor), or the error a caller should see. */
  private localEntryFor(name: string, version: string): CapabilityEntry {
    if (!parseVersion(version)) throw new HearthError('bad_request', `version ${JSON.stringify(version)} must be "major.minor"`);
    const ours = this.registry.local().filter((entry) => entry.name === name);
    const match = ours
      .filter((entry) => versionSatisfies(entry.version, version))
      .sort((a, b) => parseVersion(b.version)![1] - parseVersion(a.version)![1])[0];
    if (match) return match;
    if (ours.length > 0) {
      const offered = ours.map((entry) => label(entry.name, entry.version));
      throw new HearthError('schema_mismatch', `${label(name, version)} is not offered here; this node has ${offered.join(', ')}`, {
        extra: { alt_capabilities: offered }
      });
    }
    throw new HearthError('not_found', `this node does not offer ${name}`);
  }

  /** A call refused before it reached any provider still leaves a trace. */
  private refusedOutbound(name: string, version: string, traceId: string, err: unknown): HearthError {
    const error = HearthError.from(err);
    const started = this.options.clock.now();
    this.record(null, { traceId, caller: this.options.selfId, direction: 'out', started, bytesIn: 0, stream: false }, error.code, 0, { capability: name, version });
    return error;
  }

  private remoteDefaultTimeoutMs(entry: CapabilityEntry): number {
    return Math.min(entry.timeoutSeconds ?? DESCRIPTOR_DEFAULTS.timeoutSeconds, MAX_REMOTE_DEFAULT_TIMEOUT_SECONDS) * 1000;
  }

  private async callRemote(entry: CapabilityEntry, versionReq: string, body: unknown, requestId: string, options: BusCallOptions): Promise<BusCallResult> {
    const attempt: Attempt = { traceId: requestId, caller: this.options.selfId, direction: 'out', started: this.options.clock.now(), bytesIn: sizeOf(body), stream: false, addressed: options.node !== undefined };
    const timeoutMs = options.timeoutMs ?? this.remoteDefaultTimeoutMs(entry);
    entry.inFlight++;
    let result: unknown;
    try {
      result = await this.options.remote.call(entry.nodeId, entry.name, versionReq, body, { timeoutMs, requestId, signal: options.signal });
    } catch (err) {
      entry.inFlight--;
      this.record(entry, attempt, options.signal?.aborted ? 'cancelled' : HearthError.from(err).code, 0);
      throw err;
    }
    entry.inFlight--;
    return { result, trace: this.record(entry, attempt, 'ok', sizeOf(result), undefined, result) };
  }

  private async *streamRemote(
    entry: CapabilityEntry,
    versionReq: string,
    body: unknown,
    requestId: string,
    options: BusCallOptions,
    progress: { yielded: number }
  ): AsyncGenerator<StreamEvent, void, undefined> {
    const attempt: Attempt = { traceId: requestId, caller: this.options.selfId, direction: 'out', started: this.options.clock.now(), bytesIn: sizeOf(body), stream: true, addressed: options.node !== undefined };
    entry.inFlight++;
    let outcome: string | null = null;
    let bytesOut = 0;
    let last: unknown;
    try {
      const idleTimeoutMs = options.timeoutMs ?? this.remoteDefaultTimeoutMs(entry);
      for await (const event of this.options.remote.stream(entry.nodeId, entry.name, versionReq, body, { requestId, signal: options.signal, idleTimeoutMs })) {
        bytesOut += sizeOf(event);
        if (event.event === 'done') {
          outcome = 'ok';
          last = event.data;
        }
        progress.yielded++;
        yield event;
      }
      outcome ??= 'ok';
    } catch (err) {
      outcome = options.signal?.aborted ? 'cancelled' : HearthError.from(err).code;
      throw err;
    } finally {
      entry.inFlight--;
      this.record(entry, attempt, outcome ?? 'cancelled', bytesOut, undefined, last);
    }
  }

  private stamp(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.stampSecond) {
      this.stampSecond = second;
      this.stampText = rfc3339(ms);
    }
    return this.stampText;
  }

  /** Capabilities we offer keep their name as a metrics label; anything else a peer names is folded into one. */
  private metricsLabel(capability: string): string {
    return this.registry.versionsOf(capability).length > 0 ? capability : UNKNOWN_CAPABILITY_LABEL;
  }

  /** One trace, one metrics sample and (for provider outcomes) one health sample per attempt. */
  private record(
    entry: CapabilityEntry | null,
    attempt: Attempt,
    result: string,
    bytesOut: number,
    call?: { capability: string; version: string },
    value?: unknown
  ): CallTrace {
    const ms = this.options.clock.now() - attempt.started;
    const capability = entry?.name ?? call?.capability ?? '';
    const self = this.options.selfId;
    // An entry removed meanwhile (its peer left) has no health to keep.
    if (entry && this.registry.get(entry.key) === entry) {
      if (result === 'ok') this.health.record(entry.key, true, ms);
      else if (HEALTH_FAILURES.has(result) || (!entry.isLocal && !attempt.addressed && REMOTE_FAILURES.has(result))) this.health.record(entry.key, false, ms);
    }
    this.metrics.record(entry ? capability : this.metricsLabel(capability), result, ms);
    const toNode = attempt.direction === 'in' ? self : (entry?.nodeId ?? '');
    const other = attempt.direction === 'in' ? attempt.caller : toNode;
    const { tokensIn, tokensOut } = tokensOf(value);
    const trace: CallTrace = {
      ts: this.stamp(attempt.started),
      trace_id: attempt.traceId,
      capability,
      version: entry?.version ?? call?.version ?? '',
      from_node: attempt.caller,
      to_node: toNode,
      is_local: entry?.isLocal === true && attempt.direction === 'out',
      result,
      ms,
      tokens_in: tokensIn,
      tokens_out: tokensOut,
      bytes_in: attempt.bytesIn,
      bytes_out: bytesOut,
      direction: attempt.direction,
      path: other === self ? 'local' : other ? this.options.remote.pathTo(other) : null,
      stream: attempt.stream
    };
    if (!entry?.untraced) this.traces.push(trace);
    return trace;
  }
}

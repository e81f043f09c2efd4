/**
 * Every capability the bus can reach (M03 §3.2): ours, registered by services, and our peers', read from their
 * verified manifests. Listeners see entries being added, updated and removed, which is how the Mesh page shows
 * capabilities appearing and leaving.
 */
import type { CapabilitySpec, Clock, Stability } from '../core/index.js';
import { STABILITIES } from '../core/index.js';
import { TRUST_LEVELS, entryKey, parseVersion, versionSatisfies, type CapabilityEntry, type TrustLevel } from './capability.js';
import { namespaceProblem } from './namespace.js';

export type RegistryEventKind = 'added' | 'updated' | 'removed';
export interface RegistryEvent {
  kind: RegistryEventKind;
  entry: CapabilityEntry;
}
export type RegistryListener = (event: RegistryEvent) => void;

export interface ManifestDiff {
  added: CapabilityEntry[];
  updated: CapabilityEntry[];
  removed: CapabilityEntry[];
  /** Offered capabilities we refuse to list, with why (reserved prefix, bad version). */
  ignored: { name: string; reason: string }[];
}

/** Optional manifest fields this implementation adds to contract §6.1 entries (PROTOCOL.md B7). */
interface SpecExtras {
  trust_required?: unknown;
  timeout_seconds?: unknown;
  idempotent?: unknown;
}

function sameSpec(entry: CapabilityEntry, spec: CapabilitySpec & SpecExtras): boolean {
  return (
    entry.trustRequired === (spec.trust_required ?? null) &&
    entry.timeoutSeconds === (spec.timeout_seconds ?? null) &&
    entry.idempotent === (spec.idempotent === true) &&
    entry.schemaHash === spec.schema_hash &&
    entry.maxConcurrent === spec.max_concurrent &&
    entry.stability === spec.stability &&
    JSON.stringify(entry.params) === JSON.stringify(spec.params)
  );
}

export class Registry {
  private readonly entries = new Map<string, CapabilityEntry>();
  private readonly byName = new Map<string, Set<CapabilityEntry>>();
  private readonly listeners = new Set<RegistryListener>();

  constructor(
    readonly selfId: string,
    private readonly clock: Clock
  ) {}

  addLocal(entry: CapabilityEntry): void {
    this.put(entry);
    this.emit('added', entry);
  }

  removeLocal(key: string): CapabilityEntry | undefined {
    const entry = this.entries.get(key);
    if (!entry?.isLocal) return undefined;
    this.drop(entry);
    this.emit('removed', entry);
    return entry;
  }

  /** Replaces a peer's remote entries with what its latest verified manifest offers. */
  updateFromManifest(nodeId: string, specs: readonly CapabilitySpec[]): ManifestDiff {
    const diff: ManifestDiff = { added: [], updated: [], removed: [], ignored: [] };
    if (nodeId === this.selfId) return diff;
    const now = this.clock.now();
    const offered = new Set<string>();
    for (const spec of specs) {
      const problem = namespaceProblem(spec.name) ?? (parseVersion(spec.version) ? null : `version ${JSON.stringify(spec.version)} is not major.minor`);
      if (problem) {
        diff.ignored.push({ name: spec.name, reason: problem });
        continue;
      }
      const key = entryKey(nodeId, spec.name, spec.version);
      if (offered.has(key)) continue; // listed twice: the first wins
      offered.add(key);
      const extras = spec as CapabilitySpec & SpecExtras;
      const existing = this.entries.get(key);
      if (existing) {
        const changed = !sameSpec(existing, extras);
        Object.assign(existing, this.fromSpec(spec, extras), { lastSeenMs: now });
        if (changed) diff.updated.push(existing);
        continue;
      }
      const entry: CapabilityEntry = {
        key,
        nodeId,
        name: spec.name,
        version: spec.version,
        isLocal: false,
        ...this.fromSpec(spec, extras),
        descriptor: null,
        handler: null,
        untraced: false,
        inFlight: 0,
        lastSeenMs: now
      };
      this.put(entry);
      diff.added.push(entry);
    }
    for (const entry of this.ofNode(nodeId)) {
      if (!offered.has(entry.key)) {
        this.drop(entry);
        diff.removed.push(entry);
      }
    }
    for (const entry of diff.added) this.emit('added', entry);
    for (const entry of diff.updated) this.emit('updated', entry);
    for (const entry of diff.removed) this.emit('removed', entry);
    return diff;
  }

  /** Forgets everything a peer offered; returns what was removed. */
  removeNode(nodeId: string): CapabilityEntry[] {
    const removed = this.ofNode(nodeId);
    for (const entry of removed) {
      this.drop(entry);
      this.emit('removed', entry);
    }
    return removed;
  }

  /** Entries whose version satisfies `versionReq` (contract §2.1), local first, then by node id for stable order. */
  find(name: string, versionReq: string): CapabilityEntry[] {
    const named = this.byName.get(name);
    if (!named) return [];
    return [...named]
      .filter((entry) => versionSatisfies(entry.version, versionReq))
      .sort((a, b) => Number(b.isLocal) - Number(a.isLocal) || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Every version of `name` anyone offers; for the `alt_capabilities` of a mismatch. */
  versionsOf(name: string): string[] {
    return [...new Set([...(this.byName.get(name) ?? [])].map((entry) => `${entry.name}@${entry.version}`))].sort();
  }

  get(key: string): CapabilityEntry | undefined {
    return this.entries.get(key);
  }

  local(): CapabilityEntry[] {
    return [...this.entries.values()].filter((entry) => entry.isLocal);
  }

  all(): CapabilityEntry[] {
    return [...this.entries.values()];
  }

  subscribe(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private fromSpec(spec: CapabilitySpec, extras: SpecExtras) {
    return {
      stability: ((STABILITIES as readonly string[]).includes(spec.stability) ? spec.stability : 'experimental') as Stability,
      schemaHash: spec.schema_hash,
      params: spec.params,
      maxConcurrent: spec.max_concurrent,
      trustRequired: (TRUST_LEVELS as readonly unknown[]).includes(extras.trust_required) ? (extras.trust_required as TrustLevel) : null,
      timeoutSeconds:
        typeof extras.timeout_seconds === 'number' && extras.timeout_seconds > 0 && extras.timeout_seconds <= 3600 ? extras.timeout_seconds : null,
      idempotent: extras.idempotent === true
    };
  }

  private ofNode(nodeId: string): CapabilityEntry[] {
    return [...this.entries.values()].filter((entry) => entry.nodeId === nodeId);
  }

  private put(entry: CapabilityEntry): void {
    this.entries.set(entry.key, entry);
    let named = this.byName.get(entry.name);
    if (!named) this.byName.set(entry.name, (named = new Set()));
    named.add(entry);
  }

  private drop(entry: CapabilityEntry): void {
    this.entries.delete(entry.key);
    const named = this.byName.get(entry.name);
    named?.delete(entry);
    if (named?.size === 0) this.byName.delete(entry.name);
  }

  private emit(kind: RegistryEventKind, entry: CapabilityEntry): void {
    for (const listener of [...this.listeners]) listener({ kind, entry });
  }
}

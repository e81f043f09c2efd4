/**
 * Who we can reach: one record per peer whose manifest verified on at least one open link. Records are refreshed
 * by each republished manifest (P1), touched by every verified frame, pruned after silence (P7: 90 s, 30 s in
 * emergency mode) and removed when the last link to the peer closes.
 */
import { PEER_PRUNE_AFTER_SECONDS, PEER_PRUNE_AFTER_SECONDS_OFFLINE, shortOf, type Clock, type NodeManifest, type NodeProfile } from '../core/index.js';
import type { LinkPath } from './link.js';

export interface PeerLink {
  id: string;
  path: LinkPath;
}

export interface PeerRecord {
  nodeId: string;
  shortId: string;
  displayName: string;
  profile: NodeProfile;
  communityId: string;
  manifest: NodeManifest;
  links: PeerLink[];
  /** The best open path: webrtc, then relay, then memory. */
  path: LinkPath;
  rttMs: number | null;
  lastSeenMs: number;
}

export type PeerEvent = { kind: 'added' | 'updated' | 'removed'; peer: PeerRecord };
export type PeerListener = (event: PeerEvent) => void;

/** Lower is better: a direct data channel beats the bridge relay; in-memory links exist only in tests. */
export const PATH_RANK: Readonly<Record<LinkPath, number>> = { webrtc: 0, relay: 1, memory: 2 };

export function preferredPath(links: readonly PeerLink[]): LinkPath | null {
  let best: LinkPath | null = null;
  for (const link of links) if (best === null || PATH_RANK[link.path] < PATH_RANK[best]) best = link.path;
  return best;
}

export class PeerRegistry {
  private readonly records = new Map<string, PeerRecord>();
  private readonly listeners = new Set<PeerListener>();
  private emergency = false;

  constructor(private readonly clock: Clock) {}

  /** Records a manifest that already verified on `link` (signature, expiry, pin). */
  upsertManifest(manifest: NodeManifest, link: PeerLink): void {
    const existing = this.records.get(manifest.node_id);
    const links = existing?.links.some((l) => l.id === link.id) ? existing.links : [...(existing?.links ?? []), link];
    const record: PeerRecord = {
      nodeId: manifest.node_id,
      shortId: existing?.shortId ?? shortOf(manifest.node_id),
      displayName: manifest.display_name,
      profile: manifest.profile,
      communityId: manifest.community_id,
      manifest,
      links,
      path: preferredPath(links)!,
      rttMs: existing?.rttMs ?? null,
      lastSeenMs: this.clock.now()
    };
    this.records.set(record.nodeId, record);
    this.emit(existing ? 'updated' : 'added', record);
  }

  /** Any verified frame proves the peer is alive (P7). Silent: this happens for every frame. */
  touch(nodeId: string): void {
    const record = this.records.get(nodeId);
    if (record) record.lastSeenMs = this.clock.now();
  }

  recordRtt(nodeId: string, rttMs: number): void {
    const record = this.records.get(nodeId);
    if (!record) return;
    record.rttMs = rttMs;
    record.lastSeenMs = this.clock.now();
    this.emit('updated', record);
  }

  /** P7: a closed link removes its peer at once unless another link to it is open. */
  linkClosed(nodeId: string, linkId: string): void {
    const record = this.records.get(nodeId);
    if (!record || !record.links.some((l) => l.id === linkId)) return;
    const links = record.links.filter((l) => l.id !== linkId);
    if (links.length === 0) {
      this.remove(nodeId);
      return;
    }
    record.links = links;
    record.path = preferredPath(links)!;
    this.emit('updated', record);
  }

  /** P7: drops peers that sent no verified frame for the prune interval. Returns how many went. */
  prune(): number {
    const cutoff = this.clock.now() - this.pruneAfterSeconds * 1000;
    const silent = [...this.records.values()].filter((r) => r.lastSeenMs < cutoff);
    for (const record of silent) this.remove(record.nodeId);
    return silent.length;
  }

  setEmergency(emergency: boolean): void {
    this.emergency = emergency;
  }

  get pruneAfterSeconds(): number {
    return this.emergency ? PEER_PRUNE_AFTER_SECONDS_OFFLINE : PEER_PRUNE_AFTER_SECONDS;
  }

  get(nodeId: string): PeerRecord | undefined {
    const record = this.records.get(nodeId);
    return record && snapshot(record);
  }

  all(): PeerRecord[] {
    return [...this.records.values()].map(snapshot);
  }

  /** Returns a function that unsubscribes. Listeners run synchronously; one that throws does not stop the rest. */
  subscribe(listener: PeerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    for (const nodeId of [...this.records.keys()]) this.remove(nodeId);
  }

  private remove(nodeId: string): void {
    const record = this.records.get(nodeId);
    if (!record) return;
    this.records.delete(nodeId);
    this.emit('removed', record);
  }

  private emit(kind: PeerEvent['kind'], record: PeerRecord): void {
    const event = { kind, peer: snapshot(record) };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A UI listener's bug must not stop the registry or starve the other listeners.
      }
    }
  }
}

/** Callers get copies: the registry's own records change under them. */
function snapshot(record: PeerRecord): PeerRecord {
  return { ...record, links: record.links.map((l) => ({ ...l })) };
}

/**
 * The Mesh map's model: which nodes to draw and how each link looks, derived from what the UI already has (own
 * identity, the peer list, the bus's capability rows). Pure, so tests drive it with plain objects and a clock value.
 * This device only knows its own links, so the map is a star around it; nodes known only from capabilities they
 * still advertise are drawn unlinked.
 */
import type { CapabilityRow, IdentityView, PeerView } from '../../client/api.js';
import { linkColour, linkDash, linkHealth, LINK_PATH_LABEL, type LinkHealth, type MapLinkPath } from './link-style.js';

export type SelfView = Pick<IdentityView, 'nodeId' | 'shortId' | 'displayName' | 'profile'>;
export type MapNodeRole = 'self' | 'peer' | 'bridge';

export interface MapNode {
  id: string;
  name: string;
  shortId: string;
  profile: string;
  role: MapNodeRole;
  /** Linked to this device now; false for a node known only from capabilities it still advertises. */
  linked: boolean;
  /** Capabilities it offers (each name@version once). */
  capabilities: number;
  /** Some capability of this node is quarantined: calls to it kept failing. */
  failing: boolean;
}

export interface MapLink {
  /** The peer's node id: this device has at most one link per peer. */
  id: string;
  source: string;
  target: string;
  path: MapLinkPath;
  health: LinkHealth;
  colour: string;
  /** SVG stroke-dasharray, or null for a solid line. */
  dash: string | null;
  rttMs: number | null;
  /** The bridge's node when frames to this peer are relayed by it and it is on the map; drawn through it. */
  via: string | null;
}

export interface Topology {
  selfId: string;
  nodes: MapNode[];
  links: MapLink[];
}

export interface TopologyInput {
  self: SelfView;
  peers: readonly PeerView[];
  capabilities: readonly CapabilityRow[];
  nowMs: number;
}

/** The bridge's member node announces itself with this profile (relay/community-member.ts). */
export const BRIDGE_PROFILE = 'bridge';

/** This device first, then its peers in the order the node lists them, then nodes known only from capabilities. */
export function mapNodes(self: SelfView, peers: readonly PeerView[], capabilities: readonly CapabilityRow[]): MapNode[] {
  const offered = new Map<string, { count: number; failing: boolean; name: string; shortId: string }>();
  for (const cap of capabilities) {
    const entry = offered.get(cap.nodeId) ?? { count: 0, failing: false, name: cap.nodeName, shortId: cap.nodeShortId };
    entry.count++;
    entry.failing ||= cap.quarantined;
    offered.set(cap.nodeId, entry);
  }
  const stats = (id: string) => ({ capabilities: offered.get(id)?.count ?? 0, failing: offered.get(id)?.failing ?? false });
  const nodes: MapNode[] = [
    { id: self.nodeId, name: self.displayName, shortId: self.shortId, profile: self.profile, role: 'self', linked: true, ...stats(self.nodeId) }
  ];
  const known = new Set([self.nodeId]);
  for (const peer of peers) {
    if (known.has(peer.nodeId)) continue;
    known.add(peer.nodeId);
    const role = peer.profile === BRIDGE_PROFILE ? 'bridge' : 'peer';
    nodes.push({ id: peer.nodeId, name: peer.displayName, shortId: peer.shortId, profile: peer.profile, role, linked: true, ...stats(peer.nodeId) });
  }
  const advertisedOnly = [...offered.entries()].filter(([id]) => !known.has(id)).sort(([, a], [, b]) => a.name.localeCompare(b.name));
  for (const [id, entry] of advertisedOnly) {
    nodes.push({ id, name: entry.name, shortId: entry.shortId, profile: '', role: 'peer', linked: false, ...stats(id) });
  }
  return nodes;
}

export function buildTopology({ self, peers, capabilities, nowMs }: TopologyInput): Topology {
  const nodes = mapNodes(self, peers, capabilities);
  const failing = new Set(nodes.filter((n) => n.failing).map((n) => n.id));
  const bridge = nodes.find((n) => n.role === 'bridge') ?? null;
  const links: MapLink[] = [];
  for (const peer of peers) {
    if (peer.nodeId === self.nodeId || links.some((l) => l.id === peer.nodeId)) continue;
    const path: MapLinkPath = peer.path ?? 'unknown';
    const health = linkHealth({ rttMs: peer.rttMs, lastSeenMs: peer.lastSeenMs, failing: failing.has(peer.nodeId), nowMs });
    const via = path === 'relay' && bridge && bridge.id !== peer.nodeId ? bridge.id : null;
    links.push({
      id: peer.nodeId,
      source: self.nodeId,
      target: peer.nodeId,
      path,
      health,
      colour: linkColour(path, health),
      dash: linkDash(path),
      rttMs: peer.rttMs,
      via
    });
  }
  return { selfId: self.nodeId, nodes, links };
}

/** One or two sentences for the map's accessible name: what a glance at the picture tells. */
export function describeTopology(topology: Topology): string {
  const self = topology.nodes.find((n) => n.id === topology.selfId);
  const linked = topology.links.length;
  if (linked === 0) return `Mesh map: this device${self ? `, ${self.name},` : ''} has no neighbours yet.`;
  const byPath = new Map<MapLinkPath, number>();
  for (const link of topology.links) byPath.set(link.path, (byPath.get(link.path) ?? 0) + 1);
  const paths = [...byPath.entries()].map(([path, count]) => `${count} ${LINK_PATH_LABEL[path]}`).join(', ');
  const unwell = topology.links.filter((l) => l.health !== 'good').length;
  const neighbours = linked === 1 ? '1 neighbour' : `${linked} neighbours`;
  const health = unwell === 0 ? 'All links are healthy.' : `${unwell} of them ${unwell === 1 ? 'needs' : 'need'} attention.`;
  return `Mesh map: this device${self ? `, ${self.name},` : ''} is linked to ${neighbours}: ${paths}. ${health}`;
}

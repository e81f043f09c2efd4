/**
 * How a link looks on the Mesh map. Colour says how the link is doing; when it is doing fine, colour says which way
 * frames travel. The dash pattern always says which way they travel, so the path stays readable without colour.
 */
import type { PeerView } from '../../client/api.js';

export type LinkPath = NonNullable<PeerView['path']>;
/** `unknown`: the node reported no open path (a peer record mid-change). */
export type MapLinkPath = LinkPath | 'unknown';
export type LinkHealth = 'good' | 'slow' | 'failing' | 'stale';

/** A WebRTC round trip on a home network takes a few ms and a relayed one tens; past this, people notice. */
export const SLOW_RTT_MS = 250;
/**
 * Peers republish their manifest every 20 s and each one refreshes `lastSeenMs`; two missed republishes and some
 * slack mean something is wrong, well before the node prunes the peer (90 s).
 */
export const STALE_AFTER_MS = 45_000;

export const LINK_COLOURS = {
  webrtc: '#15803d',
  relay: '#2563eb',
  memory: '#78716c',
  unknown: '#a8a29e',
  slow: '#b45309',
  failing: '#b91c1c',
  stale: '#a8a29e'
} as const;

/** Violet stands apart from every link colour, so a call is never mistaken for a slow link. */
export const ROUTE_COLOURS = { ok: '#7c3aed', error: '#b91c1c' } as const;

const DASHES: Readonly<Record<MapLinkPath, string | null>> = { webrtc: null, relay: '7 4', memory: '2 3', unknown: '1 4' };

export const LINK_PATH_LABEL: Readonly<Record<MapLinkPath, string>> = {
  webrtc: 'direct (WebRTC)',
  relay: 'through the bridge (relay)',
  memory: 'in-memory',
  unknown: 'no open path'
};

export const LINK_HEALTH_LABEL: Readonly<Record<LinkHealth, string>> = {
  good: 'healthy',
  slow: 'slow',
  failing: 'a capability there keeps failing',
  stale: 'not heard from lately'
};

export interface LinkHealthInput {
  rttMs: number | null;
  lastSeenMs: number;
  /** One of the peer's capabilities is quarantined (its calls kept failing). */
  failing: boolean;
  nowMs: number;
}

/** The worst thing that is true of the link: silence outranks failures, which outrank slowness. */
export function linkHealth({ rttMs, lastSeenMs, failing, nowMs }: LinkHealthInput): LinkHealth {
  if (nowMs - lastSeenMs > STALE_AFTER_MS) return 'stale';
  if (failing) return 'failing';
  if (rttMs !== null && rttMs >= SLOW_RTT_MS) return 'slow';
  return 'good';
}

export function linkColour(path: MapLinkPath, health: LinkHealth): string {
  return health === 'good' ? LINK_COLOURS[path] : LINK_COLOURS[health];
}

export function linkDash(path: MapLinkPath): string | null {
  return DASHES[path];
}

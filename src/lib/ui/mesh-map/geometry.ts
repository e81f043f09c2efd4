/** Turning the model into SVG: where a link or a route runs, and labels short enough for a phone. */
import type { Point } from './force-layout.js';
import type { RouteAnimation } from './route-queue.js';
import type { MapLink, Topology } from './topology-model.js';

/** A name this long fits under a node at 360 px without running into its neighbour's. */
export const LABEL_MAX_CHARS = 14;

export function shortLabel(name: string): string {
  return name.length > LABEL_MAX_CHARS ? name.slice(0, LABEL_MAX_CHARS - 1) + '…' : name;
}

/** An SVG path through the points, as straight segments. */
export function pathThrough(points: readonly Point[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' ');
}

/** The link's line: through the bridge when frames are relayed by a bridge on the map. Null until both ends are placed. */
export function linkPoints(link: MapLink, positions: ReadonlyMap<string, Point>): Point[] | null {
  const ids = link.via ? [link.source, link.via, link.target] : [link.source, link.target];
  return pointsOf(ids, positions);
}

/**
 * Where a route travels, from caller to provider; one point (a pulse) for a call served where it was made. A call
 * between this device and a peer follows that peer's link (through the bridge when relayed). Null when an end is
 * not on the map (a peer that has since left).
 */
export function routePoints(route: RouteAnimation, topology: Topology, positions: ReadonlyMap<string, Point>): Point[] | null {
  if (route.local) return pointsOf([route.from], positions);
  const peer = route.from === topology.selfId ? route.to : route.from;
  const via = topology.links.find((l) => l.target === peer)?.via ?? null;
  return pointsOf(via ? [route.from, via, route.to] : [route.from, route.to], positions);
}

function pointsOf(ids: readonly string[], positions: ReadonlyMap<string, Point>): Point[] | null {
  const points = ids.map((id) => positions.get(id));
  return points.every((p): p is Point => p !== undefined) ? points : null;
}

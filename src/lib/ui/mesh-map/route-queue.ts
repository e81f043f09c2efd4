/**
 * Which calls the Mesh map is animating. Every call this node makes or serves lands in the bus view's recent calls;
 * the queue turns each one it has not seen into a route that travels caller → provider → caller and then lingers a
 * while, so a glance (or a test's poll) still catches a quick call. Calls that ended long before the map saw them
 * are history, shown in the Recent calls table, not news. Time comes in as a parameter.
 */
import type { CallTrace } from '../../client/api.js';

/** The packet's trip there and back. */
export const ROUTE_TRAVEL_MS = 1800;
/** How long the route stays marked after the trip. */
export const ROUTE_LINGER_MS = 5000;
/** A call first seen later than this after it ended is not animated (the map opened after it). */
export const ROUTE_FRESH_MS = 10_000;
/** A burst of calls shows its newest few; more would be a blur. */
export const MAX_ROUTES_SHOWN = 12;

export interface RouteAnimation {
  key: string;
  traceId: string;
  capability: string;
  from: string;
  /** Empty when no provider was found. */
  to: string;
  /** "ok" or an error code. */
  result: string;
  ok: boolean;
  /** Served on the calling node (or by none): drawn as a pulse on it rather than a trip. */
  local: boolean;
  startedAtMs: number;
  endsAtMs: number;
}

type TraceFields = Pick<CallTrace, 'trace_id' | 'direction' | 'from_node' | 'to_node' | 'capability' | 'result' | 'ts' | 'ms'>;

/** Same identity the Recent calls table keys its rows by: one trace per attempt and side. */
export function callKey(call: TraceFields): string {
  return `${call.trace_id} ${call.direction} ${call.from_node}`;
}

/** When the call ended: traces are stamped when the attempt started. NaN for an unreadable stamp. */
function endedAtMs(call: TraceFields): number {
  return Date.parse(call.ts) + call.ms;
}

export class RouteQueue {
  private seen = new Set<string>();
  private routes: RouteAnimation[] = [];

  /** Takes the bus view's calls (newest first); returns the routes added for calls not seen before. */
  ingest(calls: readonly TraceFields[], nowMs: number): RouteAnimation[] {
    const added: RouteAnimation[] = [];
    for (const call of [...calls].reverse()) {
      if (this.seen.has(callKey(call))) continue;
      if (!(endedAtMs(call) >= nowMs - ROUTE_FRESH_MS)) continue;
      added.push({
        key: callKey(call),
        traceId: call.trace_id,
        capability: call.capability,
        from: call.from_node,
        to: call.to_node,
        result: call.result,
        ok: call.result === 'ok',
        local: !call.to_node || call.to_node === call.from_node,
        startedAtMs: nowMs,
        endsAtMs: nowMs + ROUTE_TRAVEL_MS + ROUTE_LINGER_MS
      });
    }
    // The view holds only the newest calls, and a call that left it never comes back: remembering the rest is waste.
    this.seen = new Set(calls.map(callKey));
    this.routes = [...this.active(nowMs), ...added].slice(-MAX_ROUTES_SHOWN);
    return added;
  }

  /** Routes still shown at `nowMs`, oldest first. */
  active(nowMs: number): RouteAnimation[] {
    return this.routes.filter((r) => r.endsAtMs > nowMs);
  }

  /** When the next shown route ends (so the view knows when to look again), or null when none is shown. */
  nextEndMs(nowMs: number): number | null {
    const ends = this.active(nowMs).map((r) => r.endsAtMs);
    return ends.length ? Math.min(...ends) : null;
  }
}

/** Display helpers shared by the Community, Join and Marketplace pages. Pure functions; `now` comes in. */
import type { WireError } from '$lib/client/api';

export type Failure = { ok: false; error: WireError };

export const LEVEL_LABEL: Readonly<Record<string, string>> = {
  none: 'not a member',
  member: 'member',
  trusted: 'trusted',
  anchor: 'anchor',
  revoked: 'revoked'
};

export const REVOKE_REASONS = [
  { value: 'compromised', label: 'Device lost or compromised' },
  { value: 'inactive', label: 'No longer active' },
  { value: 'policy_violation', label: 'Broke the community rules' },
  { value: 'other', label: 'Other' }
] as const;

/** What a person reads for a wire error: its message, else its code in words. */
export function errorText(error: WireError): string {
  return error.message?.trim() || error.error.replaceAll('_', ' ');
}

/** Comlink rethrows worker exceptions (and a method the worker lacks) as errors; they become failures like any other. */
export function thrownFailure(err: unknown): Failure {
  const message = err instanceof Error ? err.message.replace(/^Error: /, '') : String(err);
  return { ok: false, error: { error: 'internal_error', message } };
}

/**
 * Runs a call whose failures come back as data, folding thrown errors (and "no node in this tab", when the call
 * returns nothing) into the same shape.
 */
export async function settle<R extends Promise<{ ok: boolean }>>(call: () => R | undefined | null): Promise<Awaited<R> | Failure> {
  try {
    const result = await call();
    return result ?? { ok: false, error: { error: 'partition', message: 'The node is not running in this tab.' } };
  } catch (err) {
    return thrownFailure(err);
  }
}

/** "12 Mar 2026, 14:03" in the viewer's locale and time zone. */
export function localDateTime(rfc3339: string): string {
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? rfc3339 : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000]
];

/** "3 minutes ago", "in 2 days", "now" — to the largest whole unit. */
export function relativeTime(atMs: number, nowMs: number): string {
  if (!Number.isFinite(atMs)) return '—';
  const delta = atMs - nowMs;
  const format = new Intl.RelativeTimeFormat([], { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) >= size) return format.format(Math.trunc(delta / size), unit);
  }
  return delta >= 0 ? 'in under a minute' : 'just now';
}

export const relativeIso = (rfc3339: string, nowMs: number): string => relativeTime(Date.parse(rfc3339), nowMs);

/** A readable stand-in for a full NodeID nobody has named ("ed25519:AbCdEfGh…"). */
export function abbreviateId(nodeId: string): string {
  return nodeId.length > 18 ? `${nodeId.slice(0, 16)}…` : nodeId;
}

/** The invite in a pasted or scanned text: a join link's fragment, else the text itself (trimmed). */
export function inviteFromText(text: string): string {
  const trimmed = text.trim();
  const at = trimmed.indexOf('/join#');
  if (at < 0) return trimmed;
  const fragment = trimmed.slice(at + '/join#'.length);
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment; // not percent-encoded after all; the node says what is wrong with it
  }
}

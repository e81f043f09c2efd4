/**
 * A community's policy (contract §6.2): how many trusted signatures each trust operation needs, and whether plain
 * members may invite. Set at creation (`community.created`) and changed only by the root (`community.policy.updated`).
 */
import { HearthError } from '../core/index.js';

export interface CommunityPolicy {
  min_signatures_to_invite: number;
  min_signatures_to_demote: number;
  min_signatures_to_revoke: number;
  capability_token_ttl_seconds: number;
  federation_enabled: boolean;
  default_member_can_invite: boolean;
}

/** M13 §4.1's defaults. */
export const DEFAULT_POLICY: Readonly<CommunityPolicy> = Object.freeze({
  min_signatures_to_invite: 1,
  min_signatures_to_demote: 3,
  min_signatures_to_revoke: 3,
  capability_token_ttl_seconds: 86_400,
  federation_enabled: true,
  default_member_can_invite: true
});

/** Signature counts above this would lock a community out of its own trust operations. */
export const MAX_SIGNATURES = 16;

const COUNTS = ['min_signatures_to_invite', 'min_signatures_to_demote', 'min_signatures_to_revoke'] as const;

/** The policy in `value`, or why it is not one. Unknown keys are refused so a typo is not silently ignored. */
export function policyProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'policy must be an object';
  const policy = value as Record<string, unknown>;
  for (const key of Object.keys(policy)) {
    if (!(key in DEFAULT_POLICY)) return `policy has an unknown setting "${key}"; known: ${Object.keys(DEFAULT_POLICY).join(', ')}`;
  }
  for (const key of COUNTS) {
    const n = policy[key];
    if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > MAX_SIGNATURES) return `policy.${key} must be a whole number from 1 to ${MAX_SIGNATURES}`;
  }
  const ttl = policy.capability_token_ttl_seconds;
  if (!Number.isInteger(ttl) || (ttl as number) < 60) return 'policy.capability_token_ttl_seconds must be a whole number of seconds, at least 60';
  for (const key of ['federation_enabled', 'default_member_can_invite'] as const) {
    if (typeof policy[key] !== 'boolean') return `policy.${key} must be true or false`;
  }
  return null;
}

/** Defaults overlaid with `overrides`; throws bad_request naming the setting when the result is not a policy. */
export function makePolicy(overrides: Partial<CommunityPolicy> = {}): CommunityPolicy {
  const policy = { ...DEFAULT_POLICY, ...overrides };
  const problem = policyProblem(policy);
  if (problem) throw new HearthError('bad_request', problem);
  return policy;
}

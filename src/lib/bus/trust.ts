/**
 * The bus asks a membership view how far it trusts a caller (M03 §5.3 c). The community log supplies the real
 * view; until it exists, `interimMembership` is the rule the README states: this node's own calls are fully
 * trusted, and every peer admitted to the mesh (a verified manifest on an open link) is a `member`.
 */
import type { TrustLevel } from './capability.js';

export type CallerLevel = Exclude<TrustLevel, 'guest'> | 'none' | 'revoked';

export interface MembershipView {
  levelOf(nodeId: string): CallerLevel;
}

const RANK: Readonly<Record<CallerLevel | 'guest', number>> = { revoked: -1, none: 0, guest: 0, member: 1, trusted: 2, anchor: 3, self: 4 };

/** Does a caller at `level` meet `required`? `self` is met only by this node itself. */
export function meetsTrust(level: CallerLevel, required: TrustLevel): boolean {
  if (required === 'self') return level === 'self';
  return RANK[level] >= RANK[required];
}

export function interimMembership(selfId: string, isAdmittedPeer: (nodeId: string) => boolean): MembershipView {
  return {
    levelOf: (nodeId) => (nodeId === selfId ? 'self' : isAdmittedPeer(nodeId) ? 'member' : 'none')
  };
}

/**
 * Who is in the community and how far each member is trusted, derived from the log's `community.*` events
 * (contract §6.2, §7.2). A pure function of the events in replay order: every node holding the same events
 * agrees on every member's level at every point of the log, so a post authored after its author's revocation is
 * ignored everywhere, whichever side of a partition it was written on.
 *
 * Signatures that need a key other than the event author's (the founding root signature, invite proofs, trusted
 * co-signatures) are verified when an event is admitted to the log (event-gate.ts); this view only counts them.
 */
import { EVENT_TYPES, type EventEnvelope, type EventType, type MaterialisedView } from '../events/index.js';
import type { CallerLevel } from '../bus/index.js';
import { parseRfc3339 } from '../core/index.js';
import { policyProblem, type CommunityPolicy } from './policy.js';

export type MemberLevel = 'member' | 'trusted' | 'anchor';
export const MEMBER_LEVELS: readonly MemberLevel[] = ['member', 'trusted', 'anchor'];
const RANK: Record<MemberLevel, number> = { member: 1, trusted: 2, anchor: 3 };

export interface Member {
  node_id: string;
  level: MemberLevel;
  display_name: string;
  added_at: string;
  added_by: string;
  /** The `community.member.invited` event redeemed, or null for the founder. */
  invite_event_id: string | null;
  /** Our `joined` event (the genesis for the founder). */
  join_event_id: string;
  /** The profile its join's node manifest gave (`bridge` for a bridge's member node), or null. */
  profile: string | null;
}

export interface InviteRecord {
  event_id: string;
  lamport: number;
  inviter: string;
  invitee_node_id: string;
  display_name: string;
  initial_level: MemberLevel;
  expires_at: string;
  /** The invite event's own clock: a join claiming to be older is ignored. */
  created_at: string;
  redeemed_by: string | null;
}

export interface Revocation {
  node_id: string;
  revoked_at: string;
  lamport: number;
  reason: string;
  by: string[];
}

export interface Genesis {
  community_id: string;
  name: string;
  founder: string;
  created_at: string;
  lamport: number;
}

interface State {
  genesis: Genesis | null;
  policy: CommunityPolicy | null;
  members: Member[];
  invites: InviteRecord[];
  revoked: Revocation[];
  usedIntents: string[];
  head: number;
}

export interface CoSigner {
  node_id: string;
  signature: string;
}

/** The contract's community.* event types (envelope.ts holds the list). */
const COMMUNITY_EVENTS: readonly EventType[] = EVENT_TYPES.filter((type) => type.startsWith('community.'));

/** Is `a` a lower level than `b`? */
export function isLowerLevel(a: MemberLevel, b: MemberLevel): boolean {
  return a in RANK && RANK[a] < RANK[b];
}

/** Trusted members and anchors: the levels that promote, co-sign and moderate. */
export function isTrustedLevel(level: string): boolean {
  return level === 'trusted' || level === 'anchor';
}

export class CommunityView implements MaterialisedView<State> {
  readonly name = 'community';
  readonly eventTypes = COMMUNITY_EVENTS;
  private genesisInfo: Genesis | null = null;
  private currentPolicy: CommunityPolicy | null = null;
  private readonly memberMap = new Map<string, Member>();
  private readonly inviteMap = new Map<string, InviteRecord>();
  private readonly revokedMap = new Map<string, Revocation>();
  /** Trust actions applied, by `event_type client_id`: a co-signed intent takes effect once, never again (K4). */
  private readonly usedIntents = new Set<string>();
  private headLamport = 0;

  reset(): void {
    this.genesisInfo = null;
    this.currentPolicy = null;
    this.memberMap.clear();
    this.inviteMap.clear();
    this.revokedMap.clear();
    this.usedIntents.clear();
    this.headLamport = 0;
  }

  /** Where a node stands at the current replay position. */
  levelOf(nodeId: string): CallerLevel {
    if (this.revokedMap.has(nodeId)) return 'revoked';
    return this.memberMap.get(nodeId)?.level ?? 'none';
  }

  get genesis(): Genesis | null {
    return this.genesisInfo;
  }

  get policy(): CommunityPolicy | null {
    return this.currentPolicy;
  }

  get head(): number {
    return this.headLamport;
  }

  members(): Member[] {
    return [...this.memberMap.values()];
  }

  member(nodeId: string): Member | undefined {
    return this.memberMap.get(nodeId);
  }

  invite(eventId: string): InviteRecord | undefined {
    return this.inviteMap.get(eventId);
  }

  invites(): InviteRecord[] {
    return [...this.inviteMap.values()];
  }

  revocations(): Revocation[] {
    return [...this.revokedMap.values()];
  }

  /** May `nodeId` invite now, and at which levels? */
  mayInvite(nodeId: string, level: MemberLevel): boolean {
    const member = this.activeMember(nodeId);
    if (!member || !this.currentPolicy) return false;
    if (RANK[level] > RANK.trusted) return false; // anchors are made by promotion, not by invitation
    if (RANK[member.level] >= RANK.trusted) return true;
    return level === 'member' && this.currentPolicy.default_member_can_invite;
  }

  apply(event: EventEnvelope): void {
    this.headLamport = Math.max(this.headLamport, event.lamport);
    const data = event.data;
    if (event.event_type === 'community.created') return this.applyCreated(event);
    if (!this.genesisInfo || !this.currentPolicy) return;
    if (event.event_type === 'community.member.joined') return this.applyJoined(event);
    const author = this.activeMember(event.author);
    if (!author) return; // not (or no longer) a member: the event stays in the log but changes nothing
    switch (event.event_type) {
      case 'community.member.invited': {
        const level = data.initial_level;
        const invitee = data.invitee_node_id;
        if (typeof invitee !== 'string' || !isLevel(level) || !this.mayInvite(author.node_id, level)) return;
        if (typeof data.expires_at !== 'string' || Number.isNaN(parseRfc3339(data.expires_at))) return;
        this.inviteMap.set(event.event_id, {
          event_id: event.event_id,
          lamport: event.lamport,
          inviter: author.node_id,
          invitee_node_id: invitee,
          display_name: typeof data.display_name === 'string' ? data.display_name : '',
          initial_level: level,
          expires_at: data.expires_at,
          created_at: event.wall_clock,
          redeemed_by: null
        });
        return;
      }
      case 'community.member.promoted':
      case 'community.member.demoted':
        return this.applyLevelChange(event, author);
      case 'community.member.revoked': {
        const target = data.target_node_id;
        if (typeof target !== 'string' || this.revokedMap.has(target) || !this.memberMap.has(target)) return;
        const signers = this.trustedSigners(event);
        if (signers.length < this.currentPolicy.min_signatures_to_revoke || !this.useIntent(event)) return;
        this.memberMap.delete(target);
        this.revokedMap.set(target, { node_id: target, revoked_at: event.wall_clock, lamport: event.lamport, reason: String(data.reason ?? ''), by: signers });
        return;
      }
      case 'community.policy.updated':
        if (author.node_id === this.genesisInfo.founder && policyProblem(data.policy) === null) this.currentPolicy = { ...(data.policy as CommunityPolicy) };
        return;
    }
  }

  snapshotState(): State {
    return structuredClone({
      genesis: this.genesisInfo,
      policy: this.currentPolicy,
      members: this.members(),
      invites: this.invites(),
      revoked: this.revocations(),
      usedIntents: [...this.usedIntents].sort(),
      head: this.headLamport
    });
  }

  restoreState(state: State): void {
    this.reset();
    const copy = structuredClone(state);
    this.genesisInfo = copy.genesis;
    this.currentPolicy = copy.policy;
    for (const member of copy.members) this.memberMap.set(member.node_id, member);
    for (const invite of copy.invites) this.inviteMap.set(invite.event_id, invite);
    for (const revocation of copy.revoked) this.revokedMap.set(revocation.node_id, revocation);
    for (const intent of copy.usedIntents ?? []) this.usedIntents.add(intent);
    this.headLamport = copy.head;
  }

  private activeMember(nodeId: string): Member | undefined {
    return this.revokedMap.has(nodeId) ? undefined : this.memberMap.get(nodeId);
  }

  private applyCreated(event: EventEnvelope): void {
    const { name, founder_node_id, policy } = event.data;
    // The first genesis in replay order wins; the gate admits only one signed by the community's root key.
    if (this.genesisInfo || founder_node_id !== event.author || typeof name !== 'string' || policyProblem(policy) !== null) return;
    this.genesisInfo = { community_id: event.community_id, name, founder: event.author, created_at: event.wall_clock, lamport: event.lamport };
    this.currentPolicy = { ...(policy as CommunityPolicy) };
    this.memberMap.set(event.author, {
      node_id: event.author,
      level: 'anchor',
      display_name: typeof event.data.display_name === 'string' ? event.data.display_name : '',
      added_at: event.wall_clock,
      added_by: event.author,
      invite_event_id: null,
      join_event_id: event.event_id,
      profile: null
    });
  }

  private applyJoined(event: EventEnvelope): void {
    const { invite_event_id, invitee_node_id } = event.data;
    if (typeof invite_event_id !== 'string') return;
    const invite = this.inviteMap.get(invite_event_id);
    if (!invite || invitee_node_id !== invite.invitee_node_id) return;
    if (this.memberMap.has(event.author) || this.revokedMap.has(event.author)) return;
    const joinedAt = parseRfc3339(event.wall_clock);
    // Within the invite's life by the join's own clock: not before the invite existed, not after it expired.
    if (joinedAt > parseRfc3339(invite.expires_at) || joinedAt < parseRfc3339(invite.created_at)) return;
    if (!this.activeMember(invite.inviter)) return; // an invite dies with its inviter's membership
    if (invite.redeemed_by !== null) {
      // Single use. Two redemptions (one one-scan invite on two devices, across a partition): the one written
      // first by its own clock keeps it, on every node alike. Not the first in replay order: a device that read the
      // log early and redeemed offline much later writes a low Lamport value, and must not unseat the member who
      // joined in the meantime.
      const holder = this.memberMap.get(invite.redeemed_by);
      // A holder the community has since promoted stays: its standing no longer rests on the invite alone.
      if (!holder || holder.level !== invite.initial_level || !isEarlier(event.wall_clock, event.event_id, holder.added_at, holder.join_event_id)) return;
      this.memberMap.delete(holder.node_id);
    }
    invite.redeemed_by = event.author;
    const manifest = event.data.node_manifest as { display_name?: unknown; profile?: unknown } | undefined;
    this.memberMap.set(event.author, {
      node_id: event.author,
      level: invite.initial_level,
      display_name: typeof manifest?.display_name === 'string' ? manifest.display_name : invite.display_name,
      added_at: event.wall_clock,
      added_by: invite.inviter,
      invite_event_id,
      join_event_id: event.event_id,
      profile: typeof manifest?.profile === 'string' ? manifest.profile : null
    });
  }

  private applyLevelChange(event: EventEnvelope, author: Member): void {
    const { target_node_id, new_level } = event.data;
    const target = typeof target_node_id === 'string' ? this.activeMember(target_node_id) : undefined;
    if (!target || !isLevel(new_level) || RANK[author.level] < RANK.trusted) return;
    const promoting = event.event_type === 'community.member.promoted';
    if (promoting ? RANK[new_level] <= RANK[target.level] : RANK[new_level] >= RANK[target.level]) return;
    // Nobody raises another above their own level.
    if (promoting && RANK[new_level] > RANK[author.level]) return;
    const needed = promoting ? 1 : this.currentPolicy!.min_signatures_to_demote;
    if (this.trustedSigners(event).length < needed || !this.useIntent(event)) return;
    target.level = new_level;
  }

  /** Marks a trust action's intent used; false when it was used before (a replayed co-signed event). */
  private useIntent(event: EventEnvelope): boolean {
    const clientId = event.data.client_id;
    if (typeof clientId !== 'string' || clientId === '') return false;
    const key = `${event.event_type} ${clientId}`;
    if (this.usedIntents.has(key)) return false;
    this.usedIntents.add(key);
    return true;
  }

  /** Distinct trusted (or anchor) members among the author and the co-signers, at this point of the log. */
  private trustedSigners(event: EventEnvelope): string[] {
    const ids = new Set<string>([event.author]);
    const coSigners = event.data.co_signers;
    if (Array.isArray(coSigners)) for (const c of coSigners) if (c && typeof c.node_id === 'string') ids.add(c.node_id);
    return [...ids].filter((id) => {
      const member = this.activeMember(id);
      return member !== undefined && RANK[member.level] >= RANK.trusted;
    });
  }
}

/** Is (wall clock, id) `a` before `b`? */
function isEarlier(aClock: string, aId: string, bClock: string, bId: string): boolean {
  const a = parseRfc3339(aClock);
  const b = parseRfc3339(bClock);
  return a !== b ? a < b : aId < bId;
}

function isLevel(value: unknown): value is MemberLevel {
  return typeof value === 'string' && (MEMBER_LEVELS as readonly string[]).includes(value);
}

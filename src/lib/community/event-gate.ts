/**
 * What the log admits (PROTOCOL.md K1): after the envelope checks (shape, size, author's signature), an event must
 * come from someone who was ever part of the community, and every signature it carries besides the author's must
 * verify. The rule only ever widens (an author once known stays known), so it does not depend on arrival order:
 * an event refused because its author's `joined` had not arrived yet is offered again by the next sync and
 * admitted then, and every node ends up storing the same events. Revocation is the views' business: a revoked
 * author's later events are stored like any other and change nothing.
 */
import { isFullNodeId } from '../core/index.js';
import type { EventEnvelope, EventRefusal, EventType } from '../events/index.js';
import type { CoSigner } from './community-view.js';
import { verifyInviteProof } from './invite-proof.js';
import { TRUST_ACTIONS, verifyCoSigner, verifyGenesis, type TrustAction } from './signatures.js';

/** A trust action carries at most this many co-signatures (policy maximum). */
const MAX_CO_SIGNERS = 16;

/** What `learn` reads: at open, a store need only load these. */
export const GATE_EVENT_TYPES: readonly EventType[] = ['community.created', 'community.member.joined', 'community.member.invited'];

export class EventGate {
  private readonly known = new Set<string>();
  /**
   * What the current ingest admitted but has not stored yet: it counts for the rest of the batch (a join early in a
   * batch lets its author's later events in) and becomes `known` only once stored (`settle`).
   */
  private tentativeKnown = new Set<string>();
  private tentativeInvites = new Map<string, string>();
  /** Invite events stored (id → invitee): a join must name one of these, or anyone could write themselves in. */
  private readonly invites = new Map<string, string>();

  constructor(private readonly communityId: string) {}

  /** Learns the authors of events already stored (at open). */
  learn(events: Iterable<EventEnvelope>): void {
    for (const event of events) {
      if (event.event_type === 'community.created' || event.event_type === 'community.member.joined') this.known.add(event.author);
      if (event.event_type === 'community.member.invited' && typeof event.data.invitee_node_id === 'string') this.invites.set(event.event_id, event.data.invitee_node_id);
    }
  }

  isKnown(nodeId: string): boolean {
    return this.known.has(nodeId);
  }

  /** The write of the current ingest ended: learn what was stored (null: nothing was), forget the rest. */
  settle(stored: readonly EventEnvelope[] | null): void {
    this.tentativeKnown = new Set();
    this.tentativeInvites = new Map();
    if (stored) this.learn(stored);
  }

  private knows(nodeId: string): boolean {
    return this.known.has(nodeId) || this.tentativeKnown.has(nodeId);
  }

  /** null when the event may be stored; otherwise why not. Admitting a genesis or a join makes its author known. */
  async admit(event: EventEnvelope): Promise<EventRefusal | null> {
    const data = event.data;
    if (event.event_type === 'community.created') {
      const binding = { community_id: this.communityId, founder_node_id: event.author, name: data.name as string, policy: data.policy };
      if (data.founder_node_id !== event.author || !(await verifyGenesis(binding, data.root_signature))) {
        return { code: 'invalid_signature', reason: `event ${event.event_id} claims to found the community but is not signed by its root key` };
      }
      this.tentativeKnown.add(event.author);
      return null;
    }
    if (event.event_type === 'community.member.joined') {
      const invitee = data.invitee_node_id;
      if (typeof data.invite_event_id !== 'string' || !isFullNodeId(invitee)) {
        return { code: 'bad_request', reason: `join ${event.event_id} must name the invite (invite_event_id) and its invitee_node_id` };
      }
      // The invite must be stored first (a later sync retries); invites never change, so this stays order-free.
      if ((this.invites.get(data.invite_event_id) ?? this.tentativeInvites.get(data.invite_event_id)) !== invitee) {
        return { code: 'unauthorized', reason: `join ${event.event_id} names an invite this node does not hold (yet) for ${invitee}` };
      }
      if (invitee !== event.author) {
        const fields = { community_id: this.communityId, invite_event_id: data.invite_event_id, node_id: event.author };
        if (!(await verifyInviteProof(data.invite_proof, invitee, fields))) {
          return { code: 'invalid_signature', reason: `join ${event.event_id} does not prove it holds the invite's key` };
        }
      }
      this.tentativeKnown.add(event.author);
      return null;
    }
    if (!this.knows(event.author)) {
      return { code: 'unauthorized', reason: `event ${event.event_id} is by ${event.author}, who has not joined this community (yet)` };
    }
    if (event.event_type === 'community.member.invited' && typeof data.invitee_node_id === 'string') this.tentativeInvites.set(event.event_id, data.invitee_node_id);
    if ((TRUST_ACTIONS as readonly string[]).includes(event.event_type)) return this.checkCoSigners(event, event.event_type as TrustAction);
    return null;
  }

  private async checkCoSigners(event: EventEnvelope, action: TrustAction): Promise<EventRefusal | null> {
    const coSigners = event.data.co_signers ?? [];
    if (!Array.isArray(coSigners) || coSigners.length > MAX_CO_SIGNERS) {
      return { code: 'bad_request', reason: `co_signers of ${event.event_id} must be a list of at most ${MAX_CO_SIGNERS}` };
    }
    for (const coSigner of coSigners as CoSigner[]) {
      if (!coSigner || !isFullNodeId(coSigner.node_id) || !(await verifyCoSigner(coSigner, this.communityId, action, event.data))) {
        return { code: 'invalid_signature', reason: `a co-signature on ${event.event_id} does not verify` };
      }
    }
    return null;
  }
}

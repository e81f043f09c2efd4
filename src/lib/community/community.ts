/**
 * One community as this node holds it: its signed log, the admission gate, and the views replayed from it
 * (membership first, then whatever services add). Trust operations are written here as events; whether they take
 * effect is decided by the view, the same way on every node. Also the bus's membership port: the caller's level
 * at the head of the log.
 */
import { HearthError, generateKeyPair, keyPairFromSeed, rfc3339, type Clock, type KeyPair, type UlidGenerator } from '../core/index.js';
import type { CallerLevel, MembershipView } from '../bus/index.js';
import {
  EventLog,
  ReplayEngine,
  Snapshotter,
  restoreFromSnapshot,
  storedOfTypes,
  type EventEnvelope,
  type EventStore,
  type IngestResult,
  type MaterialisedView,
  type SnapshotLog
} from '../events/index.js';
import { CommunityView, isTrustedLevel, type CoSigner, type InviteRecord, type MemberLevel } from './community-view.js';
import { EventGate, GATE_EVENT_TYPES } from './event-gate.js';
import { proveInvite } from './invite-proof.js';
import { makePolicy, type CommunityPolicy } from './policy.js';
import { coSign, signGenesis, verifyCoSigner, type TrustAction } from './signatures.js';

export const COMMUNITY_NAME_MAX_CHARS = 64;
export const DEFAULT_INVITE_TTL_SECONDS = 24 * 3600;
export const MAX_INVITE_TTL_SECONDS = 30 * 24 * 3600;

export interface CommunityOptions {
  store: EventStore;
  keyPair: KeyPair;
  communityId: string;
  clock: Clock;
  nextId: UlidGenerator;
  /** Service views, replayed after the community view for each event. */
  views?: (community: Community) => MaterialisedView[];
  /**
   * Open from this node's latest snapshot plus the events after it, and take snapshots as the log grows, when the
   * store can keep them (events/snapshot.ts). Default true; false replays the whole log at open and keeps none.
   */
  snapshots?: boolean;
  /** Where snapshot taking and restoring report (a snapshot ignored, one not taken). */
  log?: SnapshotLog;
}

export interface NewInvite {
  event: EventEnvelope;
  /** One-scan invites: the single-use secret (a 32-byte seed) the QR carries. */
  secretSeed: Uint8Array | null;
}

export class Community implements MembershipView {
  readonly view = new CommunityView();
  readonly engine = new ReplayEngine();
  private applying: Promise<void> = Promise.resolve();
  private readonly closers: (() => void)[] = [];

  private constructor(
    readonly log: EventLog,
    private readonly gate: EventGate,
    private readonly options: CommunityOptions
  ) {}

  static async open(options: CommunityOptions): Promise<Community> {
    const gate = new EventGate(options.communityId);
    const log = await EventLog.open({ ...options, admit: (event) => gate.admit(event), afterStore: (stored) => gate.settle(stored) });
    const community = new Community(log, gate, options);
    community.engine.register(community.view);
    for (const view of options.views?.(community) ?? []) community.engine.register(view);
    const { store, keyPair, communityId, clock } = options;
    if (options.snapshots === false) {
      const stored = await log.events();
      gate.learn(stored);
      community.engine.rebuild(stored);
    } else {
      // The gate must know every author who ever joined, so it reads every membership event whatever a snapshot covers.
      gate.learn(await storedOfTypes(store, GATE_EVENT_TYPES));
      await restoreFromSnapshot({ engine: community.engine, store, keyPair, communityId, log: options.log });
      if (store.saveSnapshot) community.closers.push(new Snapshotter({ engine: community.engine, store, keyPair, communityId, clock, log: options.log }).start());
    }
    community.closers.push(log.subscribe((added) => {
      community.applying = community.applying
        .then(() => community.engine.added(added, () => log.events()))
        // A failed apply (a store read during a replay) must not freeze the views: replay everything once more.
        .catch(async () => {
          try {
            community.engine.rebuild(await log.events());
          } catch {
            // The store is unreadable: the next batch tries again.
          }
        });
    }));
    return community;
  }

  /** Stops listening and snapshotting (the store's owner closes the store after this). */
  async close(): Promise<void> {
    for (const close of this.closers.splice(0)) close();
    await this.settled();
  }

  /**
   * Founds a community (M13 §4.1): a fresh root key names it and signs the genesis binding, then is forgotten, so
   * no second genesis can ever be valid. The founder is its first anchor.
   */
  static async found(
    fields: { name: string; displayName: string; policy?: Partial<CommunityPolicy>; /** Tests and simulations fix it; otherwise fresh. */ rootKey?: KeyPair },
    options: Omit<CommunityOptions, 'communityId' | 'store'> & { storeFor: (communityId: string) => Promise<EventStore> | EventStore }
  ): Promise<Community> {
    const name = fields.name.trim();
    if (name === '' || [...name].length > COMMUNITY_NAME_MAX_CHARS) throw new HearthError('bad_request', `community name must be 1 to ${COMMUNITY_NAME_MAX_CHARS} characters`);
    const policy = makePolicy(fields.policy);
    const root = fields.rootKey ?? (await generateKeyPair());
    const communityId = root.nodeId;
    const founder = options.keyPair.nodeId;
    const rootSignature = await signGenesis(root, { community_id: communityId, founder_node_id: founder, name, policy });
    const community = await Community.open({ ...options, communityId, store: await options.storeFor(communityId) });
    await community.append('community.created', { name, founder_node_id: founder, policy, root_signature: rootSignature, display_name: fields.displayName });
    return community;
  }

  get communityId(): string {
    return this.options.communityId;
  }

  get selfId(): string {
    return this.options.keyPair.nodeId;
  }

  /** The bus's trust port: this node is `self`; everyone else stands where the log's head puts them. */
  levelOf(nodeId: string): CallerLevel {
    return nodeId === this.selfId ? 'self' : this.view.levelOf(nodeId);
  }

  /** Our own standing in the community (not `self`). */
  get ownLevel(): CallerLevel {
    return this.view.levelOf(this.selfId);
  }

  isKnownAuthor(nodeId: string): boolean {
    return this.gate.isKnown(nodeId);
  }

  /** Resolves once every event stored so far has reached the views. */
  settled(): Promise<void> {
    return this.applying;
  }

  async append(eventType: EventEnvelope['event_type'], data: Record<string, unknown>): Promise<EventEnvelope> {
    const event = await this.log.append(eventType, data);
    this.gate.learn([event]);
    await this.settled();
    return event;
  }

  async ingest(events: readonly unknown[]): Promise<IngestResult> {
    const result = await this.log.ingest(events);
    await this.settled();
    return result;
  }

  /**
   * Invites a device (contract §4.17). With `inviteeNodeId` the invite is addressed to that device; without, it is
   * a one-scan invite whose secret the QR carries, and whose public half stands in the log as the invitee.
   */
  async invite(fields: { inviteeNodeId?: string; displayName?: string; level?: MemberLevel; ttlSeconds?: number }): Promise<NewInvite> {
    const level = fields.level ?? 'member';
    if (!this.view.mayInvite(this.selfId, level)) {
      throw new HearthError('unauthorized', level === 'member' ? 'only members with the invite right may invite' : `only trusted members may invite at level "${level}"`);
    }
    const ttl = fields.ttlSeconds ?? DEFAULT_INVITE_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > MAX_INVITE_TTL_SECONDS) throw new HearthError('bad_request', `invite ttl_seconds must be from 60 to ${MAX_INVITE_TTL_SECONDS}`);
    let secretSeed: Uint8Array | null = null;
    let invitee = fields.inviteeNodeId;
    if (invitee === undefined) {
      secretSeed = globalThis.crypto.getRandomValues(new Uint8Array(32));
      invitee = (await keyPairFromSeed(secretSeed)).nodeId;
    } else if (this.view.levelOf(invitee) !== 'none') {
      throw new HearthError('bad_request', `${invitee} is already ${this.view.levelOf(invitee) === 'revoked' ? 'revoked in' : 'a member of'} this community`);
    }
    const event = await this.append('community.member.invited', {
      invitee_node_id: invitee,
      display_name: fields.displayName ?? '',
      initial_level: level,
      expires_at: rfc3339(this.options.clock.now() + ttl * 1000)
    });
    return { event, secretSeed };
  }

  /** Why an invite cannot be redeemed by this node now, or null. Needs the invite's event in the log (sync first). */
  redeemProblem(inviteEventId: string): HearthError | null {
    if (this.view.member(this.selfId)) return new HearthError('bad_request', 'this device is already a member of the community', { extra: { reason: 'already_member' } });
    if (this.view.levelOf(this.selfId) === 'revoked') return new HearthError('revoked', 'this device was removed from the community');
    const invite: InviteRecord | undefined = this.view.invite(inviteEventId);
    if (!invite) return new HearthError('not_found', 'the invite is not in the community log (yet): is the inviter or the bridge reachable?', { extra: { reason: 'sync_failed' } });
    if (invite.redeemed_by !== null) return new HearthError('unauthorized', `this invite was already used by ${invite.redeemed_by}; ask for a new one`, { extra: { reason: 'invite_used' } });
    if (Date.parse(invite.expires_at) < this.options.clock.now()) return new HearthError('expired', `this invite expired at ${invite.expires_at}; ask for a new one`, { extra: { reason: 'invite_expired' } });
    return null;
  }

  /** Writes our `joined` event for an invite already in the log; with a one-scan invite, proves we hold its secret. */
  async redeem(inviteEventId: string, secretSeed: Uint8Array | null, nodeManifest: Record<string, unknown>): Promise<EventEnvelope> {
    const problem = this.redeemProblem(inviteEventId);
    if (problem) throw problem;
    const invite = this.view.invite(inviteEventId)!;
    const data: Record<string, unknown> = { invite_event_id: inviteEventId, invitee_node_id: invite.invitee_node_id, node_manifest: nodeManifest };
    if (invite.invitee_node_id !== this.selfId) {
      if (!secretSeed) throw new HearthError('unauthorized', 'this invite is addressed to another device', { extra: { reason: 'invitee_mismatch' } });
      data.invite_proof = await proveInvite(secretSeed, { community_id: this.communityId, invite_event_id: inviteEventId, node_id: this.selfId });
    }
    const event = await this.append('community.member.joined', data);
    if (!this.view.member(this.selfId)) throw new HearthError('unauthorized', 'the community did not accept this join (the invite was used or withdrawn meanwhile)');
    return event;
  }

  /**
   * The intent of a trust action, which co-signers sign (signatures.ts) and the proposer then commits. The
   * `client_id` makes each intent distinct, so a co-signature cannot be reused for another action.
   */
  trustIntent(action: TrustAction, target: string, detail: { newLevel?: MemberLevel; reason?: string }): Record<string, unknown> {
    const intent: Record<string, unknown> = { target_node_id: target, client_id: this.options.nextId() };
    if (action === 'community.member.revoked') intent.reason = detail.reason ?? 'other';
    else intent.new_level = detail.newLevel;
    return intent;
  }

  /** Our co-signature on a trust action another member proposes. */
  coSign(action: TrustAction, intent: Record<string, unknown>): Promise<CoSigner> {
    return coSign(this.options.keyPair, this.communityId, action, intent);
  }

  promote(target: string, newLevel: MemberLevel): Promise<EventEnvelope> {
    return this.commitTrustAction('community.member.promoted', this.trustIntent('community.member.promoted', target, { newLevel }), []);
  }

  /** Writes a trust action once enough trusted members signed it (policy), with a clear refusal otherwise. */
  async commitTrustAction(action: TrustAction, intent: Record<string, unknown>, coSigners: CoSigner[]): Promise<EventEnvelope> {
    const policy = this.view.policy;
    const needed = action === 'community.member.promoted' ? 1 : action === 'community.member.demoted' ? (policy?.min_signatures_to_demote ?? 3) : (policy?.min_signatures_to_revoke ?? 3);
    const target = intent.target_node_id as string;
    if (!this.view.member(target)) throw new HearthError('not_found', `${target} is not a member of this community`);
    // Our own events skip the gate, so the co-signatures are checked here: a bad one would make our view differ.
    for (const coSigner of coSigners) {
      if (!(await verifyCoSigner(coSigner, this.communityId, action, intent))) {
        throw new HearthError('invalid_signature', `the co-signature of ${coSigner.node_id} does not verify for this action`);
      }
    }
    const signers = new Set([this.selfId, ...coSigners.map((c) => c.node_id)]);
    const trusted = [...signers].filter((id) => isTrustedLevel(this.view.levelOf(id)));
    if (trusted.length < needed) {
      throw new HearthError('unauthorized', `${action.split('.').pop()} needs ${needed} trusted signature${needed === 1 ? '' : 's'}; ${trusted.length} present`);
    }
    const others = coSigners.filter((c) => c.node_id !== this.selfId);
    const event = await this.append(action, { ...intent, co_signers: others });
    const member = this.view.member(target);
    const tookEffect = action === 'community.member.revoked' ? this.view.levelOf(target) === 'revoked' : member?.level === intent.new_level;
    if (!tookEffect) throw new HearthError('unauthorized', `the community's rules did not let this ${action.split('.').pop()} take effect`);
    return event;
  }
}


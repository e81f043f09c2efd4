/**
 * The browser's side of communities (M13): which community this device is in, kept in the device settings; its
 * log in IndexedDB (Dexie); joining with an invite until our `joined` event is written; asking the bridge to keep
 * a durable copy; and the state the Community page shows. The node itself is created by the worker with the
 * community id this host settles on, so switching community restarts the node (the page reloads).
 */
import { DexieEventStore } from '../src/lib/adapters/browser/dexie-event-store.js';
import type { CommunityState, CreatedInvite, InvitePreview } from '../src/lib/client/api.js';
import {
  COSIGN_CAPABILITY,
  COSIGN_VERSION,
  Community,
  proposeTrustAction,
  deriveManifest,
  signManifest,
  checkInviteUsable,
  decodeInvite,
  encodeDeviceCard,
  encodeInvite,
  inviteLink,
  inviteSecretSeed,
  proveInvite,
  signInvite,
  type Invite,
  type InviteCredential,
  type MemberLevel,
  type ProposalProgress,
  type TrustAction
} from '../src/lib/community/index.js';
import { base64UrlEncode, HearthError, shortOf, systemClock, ulidGenerator, type KeyPair } from '../src/lib/core/index.js';
import type { EmbedFn } from '../src/lib/rag/index.js';
import { communityViews, startCommunityServices, type CommunityServices, type HearthNode } from '../src/lib/node/index.js';
import { systemScheduler } from '../src/lib/transport/index.js';

/** What the device remembers about its community. */
export interface CommunitySetting {
  id: string;
  /** The invite text while joining (a one-scan invite holds its secret: this stays on the device). */
  invite?: string;
}

/** While not a member, the bridge is asked again this often to take a copy. */
const BRIDGE_RETRY_MS = 60_000;
const COALESCE_MS = 150;

export class CommunityHost {
  private services: CommunityServices | null = null;
  private credential: InviteCredential | null = null;
  private joinError: string | null = null;
  private bridgeNodeId: string | null = null;
  private bridgeNote: string | null = null;
  private bridgeTimer: ReturnType<typeof setInterval> | null = null;
  private readonly listeners = new Set<() => void>();
  private notify: () => void = () => {};
  private node: HearthNode | null = null;
  private proposal: (ProposalProgress & { done: boolean; error: string | null }) | null = null;

  private constructor(
    readonly community: Community | null,
    private readonly invite: Invite | null,
    private readonly keyPair: KeyPair,
    private readonly bridgeHttp: string | null,
    private readonly saveSetting: (setting: CommunitySetting | undefined) => Promise<void>
  ) {}

  static async open(setting: CommunitySetting | undefined, keyPair: KeyPair, bridgeUrl: string, save: (setting: CommunitySetting | undefined) => Promise<void>): Promise<CommunityHost> {
    const bridgeHttp = httpOriginOf(bridgeUrl);
    if (!setting) return new CommunityHost(null, null, keyPair, bridgeHttp, save);
    const invite = setting.invite ? await decodeInvite(setting.invite).catch(() => null) : null;
    const store = await DexieEventStore.open(setting.id);
    const community = await Community.open({ store, keyPair, communityId: setting.id, clock: systemClock, nextId: ulidGenerator(systemClock), views: communityViews });
    return new CommunityHost(community, invite, keyPair, bridgeHttp, save);
  }

  /** The id the node runs under (the open room when in no community). */
  communityIdOr(fallback: string): string {
    return this.community?.communityId ?? fallback;
  }

  /** Starts sync and the services on `node`, and finishes a pending join as soon as the invite's event arrives. */
  /** `embed` makes marketplace search semantic (hybrid) as well as by words. */
  async attach(node: HearthNode, embed?: EmbedFn): Promise<void> {
    this.node = node;
    const community = this.community;
    if (!community) return;
    if (this.invite && !community.view.member(this.keyPair.nodeId)) {
      const seed = this.invite.invite_secret ? inviteSecretSeed(this.invite) : null;
      this.credential = seed
        ? { invite_event_id: this.invite.invite_event_id, proof: await proveInvite(seed, { community_id: community.communityId, invite_event_id: this.invite.invite_event_id, node_id: this.keyPair.nodeId }) }
        : { invite_event_id: this.invite.invite_event_id };
    }
    this.services = startCommunityServices({ node, community, clock: systemClock, scheduler: systemScheduler, credential: () => this.credential, embed });
    let pending: ReturnType<typeof setTimeout> | null = null;
    const changed = () => {
      pending ??= setTimeout(() => {
        pending = null;
        void this.tryRedeem();
        for (const listener of [...this.listeners]) listener();
      }, COALESCE_MS);
    };
    community.engine.subscribe(changed);
    node.subscribe(changed);
    this.services.cosign.subscribe(changed);
    this.notify = changed;
    void this.tryRedeem();
    void this.keepBridgeMember();
    this.bridgeTimer = setInterval(() => void this.keepBridgeMember(), BRIDGE_RETRY_MS);
  }

  /** Called whenever what the Community page shows may have changed (coalesced). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The secret-bearing hello field the bridge checks before admitting a newcomer (DESIGN §3.12). */
  helloCredential(): InviteCredential | null {
    return this.community?.view.member(this.keyPair.nodeId) ? null : this.credential;
  }

  // --- actions ---

  static async preview(text: string, selfNodeId: string): Promise<{ invite: Invite; preview: InvitePreview }> {
    const invite = await decodeInvite(text.trim());
    checkInviteUsable(invite, { nowMs: Date.now(), selfNodeId });
    return {
      invite,
      preview: {
        communityId: invite.community_id,
        communityName: invite.community_name,
        inviterNodeId: invite.inviter_node_id,
        inviterShortId: shortOf(invite.inviter_node_id),
        level: invite.initial_level,
        expiresAt: invite.expires_at,
        oneScan: invite.invite_secret !== undefined
      }
    };
  }

  async accept(text: string): Promise<void> {
    const { invite } = await CommunityHost.preview(text, this.keyPair.nodeId);
    if (this.community?.communityId === invite.community_id && this.community.view.member(this.keyPair.nodeId)) {
      throw new HearthError('bad_request', `this device is already a member of "${invite.community_name}"`, { extra: { reason: 'already_member' } });
    }
    await this.saveSetting({ id: invite.community_id, invite: text.trim() });
  }

  async create(name: string, displayName: string, policy: Record<string, number | boolean> | undefined): Promise<void> {
    const community = await Community.found(
      { name, displayName, policy: policy as never },
      { keyPair: this.keyPair, clock: systemClock, nextId: ulidGenerator(systemClock), storeFor: (id) => DexieEventStore.open(id), views: communityViews }
    );
    await this.saveSetting({ id: community.communityId });
  }

  async leave(): Promise<void> {
    await this.saveSetting(undefined);
  }

  async createInvite(fields: { level: MemberLevel; ttlSeconds?: number; invitee?: string; displayName?: string; origin: string }): Promise<CreatedInvite> {
    const community = this.requireMember();
    const { event, secretSeed } = await community.invite({ inviteeNodeId: fields.invitee, level: fields.level, ttlSeconds: fields.ttlSeconds, displayName: fields.displayName });
    const invite = await signInvite(
      {
        community_id: community.communityId,
        community_name: community.view.genesis?.name ?? '',
        invitee_node_id: event.data.invitee_node_id as string,
        initial_level: fields.level === 'trusted' ? 'trusted' : 'member',
        expires_at: event.data.expires_at as string,
        invite_event_id: event.event_id,
        bootstrap: this.bridgeHttp ? [this.bridgeHttp] : [],
        ...(secretSeed ? { invite_secret: base64UrlEncode(secretSeed) } : {})
      },
      this.keyPair
    );
    return { link: inviteLink(fields.origin, invite), blob: encodeInvite(invite), expiresAt: invite.expires_at, eventId: event.event_id };
  }

  async promote(nodeId: string, level: MemberLevel): Promise<void> {
    await this.requireMember().promote(nodeId, level);
  }

  revoke(nodeId: string, reason: string): Promise<void> {
    return this.propose('community.member.revoked', nodeId, { reason });
  }

  demote(nodeId: string, level: MemberLevel): Promise<void> {
    return this.propose('community.member.demoted', nodeId, { newLevel: level });
  }

  answerCosign(id: string, approve: boolean): void {
    if (!this.services) throw new HearthError('not_found', 'no co-sign request is waiting');
    this.services.cosign.answer(id, approve);
  }

  /** Gathers trusted co-signatures from the members linked now, then writes the action (contract §4.18). */
  private async propose(action: TrustAction, nodeId: string, detail: { reason?: string; newLevel?: MemberLevel }): Promise<void> {
    const community = this.requireMember();
    const node = this.node!;
    if (this.proposal && !this.proposal.done) throw new HearthError('capacity_exceeded', 'another demotion or revocation is still gathering signatures');
    const reachable = node.peers().map((p) => p.nodeId);
    const ask = (peer: string, input: unknown) => node.bus.call(COSIGN_CAPABILITY, COSIGN_VERSION, { input }, { node: peer });
    try {
      await proposeTrustAction(community, action, nodeId, detail, ask, reachable, (progress) => {
        this.proposal = { ...progress, signed: [...progress.signed], declined: [...progress.declined], waitingFor: [...progress.waitingFor], done: false, error: null };
        this.notify();
      });
      if (this.proposal) this.proposal.done = true;
    } catch (err) {
      const error = HearthError.from(err);
      this.proposal = this.proposal ? { ...this.proposal, done: true, error: error.message } : null;
      throw error;
    } finally {
      this.notify();
    }
  }

  async manifest(): Promise<{ json: string; signed: boolean }> {
    const community = this.community;
    if (!community) throw new HearthError('not_found', 'this device is not in a community');
    const signed = community.view.member(this.keyPair.nodeId)?.level === 'anchor';
    const manifest = signed ? await signManifest(community.view, this.keyPair) : deriveManifest(community.view);
    return { json: JSON.stringify(manifest, null, 2), signed };
  }

  deviceCard(displayName: string): string {
    return encodeDeviceCard({ node_id_full: this.keyPair.nodeId, display_name: displayName });
  }

  // --- state for the UI ---

  state(): CommunityState {
    const community = this.community;
    const self = this.keyPair.nodeId;
    const peers = new Map((this.node?.peers() ?? []).map((p) => [p.nodeId, p]));
    const empty: CommunityState = {
      status: 'none',
      communityId: null,
      name: null,
      level: 'none',
      policy: null,
      members: [],
      revoked: [],
      invites: [],
      events: 0,
      headLamport: 0,
      canInvite: false,
      canInviteTrusted: false,
      canModerate: false,
      revokeSignatures: 3,
      joining: null,
      bridge: { nodeId: this.bridgeNodeId, member: false, note: this.bridgeNote },
      sync: [],
      cosignRequests: [],
      proposal: null
    };
    if (!community) return empty;
    const view = community.view;
    const level = view.levelOf(self);
    const nameOf = (id: string) => view.member(id)?.display_name || peers.get(id)?.displayName || shortOf(id);
    const status: CommunityState['status'] = level === 'revoked' ? 'revoked' : view.member(self) ? 'member' : 'joining';
    return {
      ...empty,
      status,
      communityId: community.communityId,
      name: view.genesis?.name ?? this.invite?.community_name ?? null,
      level: level === 'self' ? 'none' : (level as CommunityState['level']),
      policy: view.policy ? { ...view.policy } : null,
      members: view.members().map((m) => ({
        nodeId: m.node_id,
        shortId: shortOf(m.node_id),
        displayName: m.display_name || nameOf(m.node_id),
        level: m.level,
        addedAt: m.added_at,
        addedBy: nameOf(m.added_by),
        isSelf: m.node_id === self,
        online: m.node_id === self || peers.has(m.node_id),
        isBridge: m.profile === 'bridge' || m.node_id === this.bridgeNodeId
      })),
      revoked: view.revocations().map((r) => ({ nodeId: r.node_id, shortId: shortOf(r.node_id), revokedAt: r.revoked_at, reason: r.reason })),
      invites: view
        .invites()
        .filter((i) => i.redeemed_by === null && Date.parse(i.expires_at) > Date.now())
        .map((i) => ({ eventId: i.event_id, inviteeNodeId: i.invitee_node_id, displayName: i.display_name, level: i.initial_level === 'trusted' ? 'trusted' : 'member', expiresAt: i.expires_at, redeemedBy: i.redeemed_by, inviter: nameOf(i.inviter) })),
      events: community.log.size,
      headLamport: community.log.highestStored,
      canInvite: view.mayInvite(self, 'member'),
      canInviteTrusted: view.mayInvite(self, 'trusted'),
      canModerate: level === 'trusted' || level === 'anchor',
      revokeSignatures: view.policy?.min_signatures_to_revoke ?? 3,
      joining: status === 'joining' && this.invite ? { communityName: this.invite.community_name, inviterShortId: shortOf(this.invite.inviter_node_id), level: this.invite.initial_level, error: this.joinError } : null,
      bridge: { nodeId: this.bridgeNodeId, member: this.bridgeNodeId !== null && view.member(this.bridgeNodeId) !== undefined, note: this.bridgeNote },
      cosignRequests: (this.services?.cosign.requests() ?? []).map((r) => ({
        id: r.id,
        from: r.from,
        fromName: nameOf(r.from),
        action: r.action === 'community.member.revoked' ? 'revoke' : 'demote',
        target: r.intent.target_node_id as string,
        targetName: nameOf(r.intent.target_node_id as string),
        reason: typeof r.intent.reason === 'string' ? r.intent.reason : null,
        newLevel: typeof r.intent.new_level === 'string' ? r.intent.new_level : null,
        receivedAt: r.receivedAt
      })),
      proposal: this.proposal
        ? {
            action: this.proposal.action === 'community.member.revoked' ? 'revoke' : 'demote',
            targetName: nameOf(this.proposal.target),
            needed: this.proposal.needed,
            signed: this.proposal.signed.map(nameOf),
            waitingFor: this.proposal.waitingFor.map(nameOf),
            declined: this.proposal.declined.map(nameOf),
            done: this.proposal.done,
            error: this.proposal.error
          }
        : null,
      sync: [...(this.services?.sync.status() ?? new Map()).entries()]
        .map(([peer, s]) => ({ peer, peerName: nameOf(peer), ...s }))
        .sort((a, b) => b.at - a.at)
    };
  }

  // --- internals ---

  private requireMember(): Community {
    const community = this.community;
    if (!community || !community.view.member(this.keyPair.nodeId)) throw new HearthError('unauthorized', 'this device is not a member of a community yet');
    return community;
  }

  /** Writes our `joined` once the invite's event is in our copy of the log. */
  private async tryRedeem(): Promise<void> {
    const community = this.community;
    const invite = this.invite;
    if (!community || !invite || community.view.member(this.keyPair.nodeId)) return;
    if (!community.view.invite(invite.invite_event_id)) return; // not synced yet
    try {
      const seed = invite.invite_secret ? inviteSecretSeed(invite) : null;
      // Contract §7.2: the full signed node manifest at join time.
      const manifest = this.node ? await this.node.manifest() : { node_id: this.keyPair.nodeId };
      await community.redeem(invite.invite_event_id, seed, manifest as unknown as Record<string, unknown>);
      this.joinError = null;
      await this.saveSetting({ id: community.communityId });
    } catch (err) {
      this.joinError = HearthError.from(err).message;
    }
  }

  /** Asks the bridge to keep a durable copy: an addressed invite for its node id, handed over by HTTP. */
  private async keepBridgeMember(): Promise<void> {
    const community = this.community;
    if (!community || !this.bridgeHttp || !community.view.mayInvite(this.keyPair.nodeId, 'member')) return;
    try {
      if (!this.bridgeNodeId) {
        const manifest = (await (await fetch(`${this.bridgeHttp}/manifest`)).json()) as { node_id?: unknown };
        if (typeof manifest.node_id !== 'string') throw new Error('the bridge did not say who it is');
        this.bridgeNodeId = manifest.node_id;
      }
      const bridgeId = this.bridgeNodeId;
      // Automatically only while the community has no bridge: another bridge is added by a person's invite, so a
      // spoofed or foreign bridge cannot make itself a member just by being connected to.
      const keeper = community.view.members().find((m) => m.profile === 'bridge' && m.node_id !== bridgeId);
      if (keeper && !community.view.member(bridgeId)) {
        this.bridgeNote = `This community's copy is kept by another bridge (${shortOf(keeper.node_id)}). Invite this one from the Invite panel if it should keep one too.`;
        return;
      }
      if (community.view.member(bridgeId)) {
        this.bridgeNote = null;
        if (this.bridgeTimer !== null) clearInterval(this.bridgeTimer);
        this.bridgeTimer = null;
        return;
      }
      const open = community.view.invites().find((i) => i.invitee_node_id === bridgeId && i.redeemed_by === null && Date.parse(i.expires_at) > Date.now() + 60_000);
      const created = open ? null : await this.createInvite({ level: 'member', invitee: bridgeId, displayName: 'Bridge', origin: this.bridgeHttp });
      const blob = created?.blob ?? (await this.reissue(community, open!.event_id, bridgeId));
      const response = await fetch(`${this.bridgeHttp}/bridge/community/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invite: blob }) });
      if (response.status === 404) this.bridgeNote = 'This bridge does not keep copies of community logs.';
      else if (!response.ok) this.bridgeNote = `The bridge did not take a copy: ${((await response.json().catch(() => ({}))) as { message?: string }).message ?? response.status}`;
      else this.bridgeNote = 'The bridge is joining; it keeps a copy of the log once synced.';
    } catch (err) {
      this.bridgeNote = `The bridge could not be asked to keep a copy (${err instanceof Error ? err.message : String(err)}); will retry.`;
    }
  }

  /** The blob for an invite already in the log (signed again; the log event is what counts). */
  private async reissue(community: Community, eventId: string, invitee: string): Promise<string> {
    const record = community.view.invite(eventId)!;
    const invite = await signInvite(
      {
        community_id: community.communityId,
        community_name: community.view.genesis?.name ?? '',
        invitee_node_id: invitee,
        initial_level: record.initial_level === 'trusted' ? 'trusted' : 'member',
        expires_at: record.expires_at,
        invite_event_id: eventId,
        bootstrap: this.bridgeHttp ? [this.bridgeHttp] : []
      },
      this.keyPair
    );
    return encodeInvite(invite);
  }
}

/** ws(s)://host/signal → http(s)://host; null for anything else. */
export function httpOriginOf(bridgeUrl: string): string | null {
  try {
    const url = new URL(bridgeUrl);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return null;
    return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
  } catch {
    return null;
  }
}

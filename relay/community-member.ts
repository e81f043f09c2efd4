/**
 * The bridge as an always-on member of one community (DESIGN §1): a real HearthNode with the bridge's device key,
 * over the community's log kept durably in SQLite, running log sync and the marketplace like any member. Its links
 * are the `/signal` sockets of the room's clients (relay-link.ts). While it only holds an invite it syncs with that
 * invite as its credential and writes its `joined` as soon as the invite's event has arrived.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Community, inviteSecretSeed, proveInvite, type Invite, type InviteCredential } from '../src/lib/community/index.js';
import { checkInviteCredential } from '../src/lib/community/invite-credential.js';
import { HearthError, ulidGenerator, type Clock, type KeyPair } from '../src/lib/core/index.js';
import { communityViews, createNode, startCommunityServices, type CommunityServices, type HearthNode } from '../src/lib/node/index.js';
import { EmbedService } from '../src/lib/embed/index.js';
import { LlmService } from '../src/lib/llm/index.js';
import { OpenAiEngine } from '../src/lib/llm/openai/index.js';
import { systemScheduler } from '../src/lib/transport/index.js';
import type { Hello, PeerInfo, Rejection } from './messages.js';
import type { EmbedderSource } from './mirror-embedders.js';
import { RelayLink } from './relay-link.js';
import type { RelayCarrier, RoomNode } from './room-node.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import { DiskChunkStore } from './disk-chunk-store.js';
import { DiskLibraryStore } from './disk-library-store.js';
import { LIBRARY_VIEW_NAME, LibraryNode, type LibraryView } from '../src/lib/library/index.js';

export type MemberStatus = 'member' | 'joining' | 'revoked';

/** What `GET /community` lists for each community. */
export interface CommunitySummary {
  community_id: string;
  name: string | null;
  status: MemberStatus;
  events: number;
  members: number;
  head_lamport: number;
  /** Why the last attempt to redeem the invite failed, while joining. */
  error?: string;
}

export interface CommunityMemberOptions {
  communityId: string;
  keyPair: KeyPair;
  /** `<data_dir>/communities`: one SQLite file per community. */
  dir: string;
  displayName: string;
  clock: Clock;
  logger: Logger;
  /** Called when our own status changes (joined, revoked) and when anyone's membership may have changed. */
  onChange(member: CommunityMember, change: 'status' | 'membership'): void;
  /** Offer this OpenAI-compatible model server's models to the community (llm.chat / llm.complete). */
  llmServerUrl?: string | null;
  /** Sentence-embedding models the bridge runs (from its model mirror), offered next to the hashed one. */
  embedders?: EmbedderSource | null;
}

/** The bridge's model server is checked again this often, so models that appear or vanish there follow. */
const LLM_REFRESH_MS = 30_000;

/** Offers a configured model server on the member node; returns the function that stops offering it. */
function offerModels(node: HearthNode, url: string, clock: Clock, logger: Logger): () => void {
  const service = new LlmService({
    engines: [new OpenAiEngine({ baseUrl: url })],
    register: (registration) => node.register(registration),
    clock,
    selfId: node.identity().nodeId,
    log: (level, message, fields) => logger[level](fields ?? {}, message)
  });
  const refresh = () => void service.refresh().catch(() => {});
  refresh();
  const timer = setInterval(refresh, LLM_REFRESH_MS);
  return () => {
    clearInterval(timer);
    service.stop();
  };
}

/**
 * Offers embed.text with the zero-download model and the bridge's sentence-embedding models, now and as they load:
 * phones that cannot embed a library ask the bridge. Returns the service and the function that stops following.
 */
async function offerEmbeddings(node: HearthNode, clock: Clock, logger: Logger, source: EmbedderSource | null): Promise<{ service: EmbedService; unfollow: () => void }> {
  const log = (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => logger[level](fields ?? {}, message);
  const service = new EmbedService({ embedders: source?.embedders ?? [], register: (registration) => node.register(registration), clock, selfId: node.identity().nodeId, log });
  const unfollow =
    source?.subscribe((embedder) => {
      service.add(embedder).catch((err: unknown) => log('warn', 'could not offer an embedding model', { model: embedder.model, error: HearthError.from(err).message }));
    }) ?? (() => {});
  await service.start();
  return { service, unfollow };
}

/**
 * The community's library on the bridge: chunks, file names and corpora beside its log, so the always-on bridge
 * holds files and answers rag.query while phones come and go.
 */
async function openLibrary(options: CommunityMemberOptions, node: HearthNode, community: Community, embed: EmbedService): Promise<LibraryNode> {
  const { clock, logger, keyPair } = options;
  const dir = join(options.dir, `library-${createHash('sha256').update(options.communityId).digest('hex').slice(0, 32)}`);
  const store = await DiskLibraryStore.open(dir);
  const self = keyPair.nodeId;
  return LibraryNode.open({
    selfId: self,
    clock,
    bus: node.bus,
    register: (registration) => node.register(registration),
    chunks: await DiskChunkStore.open(join(dir, 'chunks')),
    corpora: store,
    files: store,
    // A new collection is embedded with the best model here; an existing one keeps its own (rag/corpus.ts).
    embed: async (texts, model) => embed.embedLocal(texts, model ?? embed.preferredModel),
    community: () => ({
      canWrite: () => community.view.member(self) !== undefined && community.view.levelOf(self) !== 'revoked',
      append: (type, data) => community.append(type, data),
      view: () => community.engine.view(LIBRARY_VIEW_NAME) as LibraryView
    }),
    onlinePeers: () => node.peers().map((p) => p.nodeId),
    replicate: true,
    log: (level, message, fields) => logger[level](fields ?? {}, message)
  });
}

/** Membership changes reach signalling at most this often, so a sync of many events costs one room check. */
const CHANGE_COALESCE_MS = 20;
/** Node timers take at most 2^31-1 ms (24.8 days); a later invite expiry is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class CommunityMember implements RoomNode {
  private invite: Invite | null = null;
  private credential: InviteCredential | null = null;
  private joinError: string | null = null;
  private redeeming = false;
  private lastStatus: MemberStatus;
  private readonly links = new Map<RelayCarrier, RelayLink>();
  private linkCounter = 0;
  private changeTimer: NodeJS.Timeout | null = null;
  /**
   * Expiry times (ms) of the invites guests were admitted on (B8). A guest is let in on an invite until it expires,
   * even one another node used; when the first of these passes, the room is checked again and guests that are still
   * not members are dropped. One entry per distinct expiry, so the set is bounded by the invites in the log.
   */
  private readonly guestExpiries = new Set<number>();
  private guestTimer: { atMs: number; timer: NodeJS.Timeout } | null = null;
  private readonly unsubscribe: () => void;
  private closed = false;
  /** Withdraws the configured model server's llm.* capabilities (set when the bridge offers one). */
  stopModels: (() => void) | null = null;
  /** embed.text with the zero-download model and the bridge's sentence-embedding models. */
  embeddings: EmbedService | null = null;
  private unfollowEmbedders: () => void = () => {};
  /** Files and corpora held by the bridge for the community. */
  library: LibraryNode | null = null;
  private readonly stopLibraryUpdates: (() => void)[] = [];

  private constructor(
    private readonly options: CommunityMemberOptions,
    private readonly store: SqliteEventStore,
    readonly community: Community,
    readonly node: HearthNode,
    private readonly services: CommunityServices
  ) {
    this.lastStatus = this.status;
    this.unsubscribe = community.engine.subscribe((added) => {
      if (this.status === 'joining') void this.tryRedeem();
      if (added.some((event) => event.event_type.startsWith('community.'))) this.changed();
    });
  }

  /** Opens (creating if needed) the replica of `communityId` and starts the member node on it. */
  static async open(options: CommunityMemberOptions, invite: Invite | null): Promise<CommunityMember> {
    const { communityId, keyPair, clock, logger } = options;
    const store = SqliteEventStore.open(options.dir, communityId);
    const log = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => logger[level](fields ?? {}, message);
    let community: Community;
    try {
      community = await Community.open({ store, keyPair, communityId, clock, nextId: ulidGenerator(clock), views: communityViews, log });
    } catch (err) {
      store.close();
      throw err;
    }
    const node = createNode({ keyPair, clock, scheduler: systemScheduler, displayName: options.displayName, profile: 'bridge', communityId, membership: community, log });
    let member: CommunityMember | null = null;
    const { service: embeddings, unfollow } = await offerEmbeddings(node, clock, logger, options.embedders ?? null);
    const services = startCommunityServices({
      node,
      community,
      clock,
      scheduler: systemScheduler,
      // Shown to peers while we sync as a newcomer; LogSync itself stops sending it once we are a member.
      credential: () => member?.credential ?? null,
      embed: async (texts) => embeddings.embedLocal(texts),
      log
    });
    member = new CommunityMember(options, store, community, node, services);
    member.embeddings = embeddings;
    member.unfollowEmbedders = unfollow;
    if (options.llmServerUrl) member.stopModels = offerModels(node, options.llmServerUrl, clock, logger);
    try {
      member.library = await openLibrary(options, node, community, member.embeddings);
      const library = member.library;
      member.stopLibraryUpdates.push(community.engine.subscribe(() => library.changed()), node.subscribe(() => library.changed()));
      library.changed();
      if (invite) await member.setInvite(invite);
    } catch (err) {
      await member.close();
      throw err;
    }
    return member;
  }

  get communityId(): string {
    return this.options.communityId;
  }

  get status(): MemberStatus {
    const self = this.options.keyPair.nodeId;
    if (this.community.view.member(self)) return 'member';
    return this.community.view.levelOf(self) === 'revoked' ? 'revoked' : 'joining';
  }

  /** The invite held while joining (persisted by the registry so a restart can finish the join). */
  get pendingInvite(): Invite | null {
    return this.status === 'joining' ? this.invite : null;
  }

  /** The pending invite's event arrived but redeeming it failed (used by another, expired): it cannot finish the join. */
  get redeemFailed(): boolean {
    return this.status === 'joining' && this.joinError !== null;
  }

  get gated(): boolean {
    return this.status === 'member';
  }

  get peerInfo(): PeerInfo {
    return { node_id: this.options.keyPair.nodeId, display_name: this.options.displayName, profile: 'bridge', relay_only: true };
  }

  /** Takes (or replaces) the invite to join with, and tries it at once in case its event is already here. */
  async setInvite(invite: Invite): Promise<void> {
    const self = this.options.keyPair.nodeId;
    const id = invite.invite_event_id;
    this.credential = invite.invite_secret
      ? { invite_event_id: id, proof: await proveInvite(inviteSecretSeed(invite), { community_id: this.communityId, invite_event_id: id, node_id: self }) }
      : { invite_event_id: id };
    this.invite = invite;
    this.joinError = null;
    await this.tryRedeem();
    // Peers already linked learn of the invite at the next round; ask them now so joining takes one exchange.
    if (this.status === 'joining') this.services.sync.syncAll();
  }

  summary(): CommunitySummary {
    const { view, log } = this.community;
    const summary: CommunitySummary = {
      community_id: this.communityId,
      name: view.genesis?.name ?? this.invite?.community_name ?? null,
      status: this.status,
      events: log.size,
      members: view.members().length,
      head_lamport: log.highestStored
    };
    if (summary.status === 'joining' && this.joinError) summary.error = this.joinError;
    return summary;
  }

  async admission(hello: Pick<Hello, 'node_id' | 'invite'>, nowMs: number): Promise<Rejection | null> {
    const level = this.community.levelOf(hello.node_id);
    if (level === 'revoked') return { code: 'revoked', reason: 'revoked', message: 'this node was removed from the community; its room on this bridge is closed to it' };
    if (level !== 'none') return null;
    if (!hello.invite) {
      return { code: 'unauthorized', reason: 'not_member', message: 'only members of this community may enter its room on this bridge; redeem an invite first (a newcomer sends hello.invite)' };
    }
    try {
      await checkInviteCredential(this.community, hello.node_id, hello.invite, nowMs);
      // Admitted as a guest until the invite expires (even if another node used it: it must be able to learn that).
      const expires = this.community.view.invite(hello.invite.invite_event_id)?.expires_at;
      if (expires !== undefined) this.recheckGuestsAt(Date.parse(expires));
      return null;
    } catch (err) {
      const error = HearthError.from(err);
      return { code: error.code, reason: 'invite_refused', message: error.message };
    }
  }

  attach(client: RelayCarrier): void {
    if (this.closed || this.links.has(client)) return;
    const link = new RelayLink(`bridge-relay-${++this.linkCounter}`, client, this.options.keyPair.nodeId);
    this.links.set(client, link);
    link.onClose(() => {
      if (this.links.get(client) === link) this.links.delete(client);
    });
    this.node.addLink(link);
  }

  detach(client: RelayCarrier): void {
    this.links.get(client)?.close();
  }

  deliver(client: RelayCarrier, frame: string): void {
    this.links.get(client)?.deliver(frame);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.changeTimer) clearTimeout(this.changeTimer);
    if (this.guestTimer) clearTimeout(this.guestTimer.timer);
    this.guestTimer = null;
    this.stopModels?.();
    for (const stop of this.stopLibraryUpdates) stop();
    this.library?.stop();
    this.unfollowEmbedders();
    this.embeddings?.stop();
    this.services.stop();
    this.node.stop();
    // Let writes already queued on the log finish before the database goes away.
    await this.community.log.ingest([]).catch(() => {});
    // No snapshot may start writing into a closed database.
    await this.community.close().catch(() => {});
    this.store.close();
  }

  /** Writes our `joined` once the invite's event is in the replica. Failures are kept for `summary`. */
  private async tryRedeem(): Promise<void> {
    const invite = this.invite;
    if (this.closed || this.redeeming || !invite || this.status !== 'joining') return;
    if (!this.community.view.invite(invite.invite_event_id)) return; // not synced in yet
    this.redeeming = true;
    try {
      const seed = invite.invite_secret ? inviteSecretSeed(invite) : null;
      // Contract §7.2: the full signed node manifest at join time.
      await this.community.redeem(invite.invite_event_id, seed, (await this.node.manifest()) as unknown as Record<string, unknown>);
      this.joinError = null;
      this.options.logger.info({ community: this.communityId }, 'joined the community as a member');
    } catch (err) {
      this.joinError = HearthError.from(err).message;
      this.options.logger.warn({ community: this.communityId, error: this.joinError }, 'could not redeem the invite');
    } finally {
      this.redeeming = false;
    }
    this.changed();
  }

  /** Has the room checked again just after `expiresMs` (checkInviteCredential refuses only once now > expires_at). */
  private recheckGuestsAt(expiresMs: number): void {
    if (this.closed || !Number.isFinite(expiresMs)) return;
    this.guestExpiries.add(expiresMs);
    this.armGuestTimer();
  }

  private armGuestTimer(): void {
    if (this.closed || this.guestExpiries.size === 0) return;
    const next = Math.min(...this.guestExpiries);
    if (this.guestTimer && this.guestTimer.atMs <= next) return;
    if (this.guestTimer) clearTimeout(this.guestTimer.timer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.options.clock.now() + 1));
    const timer = setTimeout(() => {
      this.guestTimer = null;
      const now = this.options.clock.now();
      let due = false;
      for (const at of this.guestExpiries) {
        if (at < now) {
          this.guestExpiries.delete(at);
          due = true;
        }
      }
      // Through the membership path: signalling checks every session of the room and drops guests now refused.
      if (due) this.changed();
      this.armGuestTimer();
    }, delay);
    timer.unref();
    this.guestTimer = { atMs: next, timer };
  }

  /** Coalesced: tells the registry when our status moved, and signalling that the room may need a check. */
  private changed(): void {
    if (this.changeTimer || this.closed) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      if (this.closed) return;
      const status = this.status;
      if (status !== this.lastStatus) {
        this.lastStatus = status;
        this.options.onChange(this, 'status');
      }
      this.options.onChange(this, 'membership');
    }, CHANGE_COALESCE_MS);
  }
}

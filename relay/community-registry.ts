/**
 * Every community the bridge holds a replica of. `<data_dir>/communities.json` lists them, with the invite and the
 * deadline of each one still joining; `<data_dir>/communities/` holds their SQLite logs. A restarted bridge reopens
 * every replica, finishes pending joins, and its member nodes are back in their rooms before the first client connects.
 * Joins are bounded (MAX_JOINING at once, each given up after JOIN_DEADLINE_MS): anyone can sign an invite addressed
 * to the bridge's public NodeID for a community that does not exist, and only the invite's event, synced from a
 * member, tells a real join from such a one.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { checkInviteUsable, decodeInvite, encodeInvite, type Invite } from '../src/lib/community/index.js';
import { HearthError, isFullNodeId, shortOf, type Clock, type KeyPair } from '../src/lib/core/index.js';
import { CommunityMember, type CommunitySummary, type MemberStatus } from './community-member.js';
import type { EmbedderSource } from './mirror-embedders.js';
import type { HeldCommunities, RoomChange } from './room-node.js';
import { eventStorePath } from './sqlite-event-store.js';

export const COMMUNITIES_FILE = 'communities.json';
export const COMMUNITIES_DIR = 'communities';
/** Anyone who can sign an invite can ask the bridge to hold a community: this bounds what that costs. */
export const MAX_HELD_COMMUNITIES = 32;
/**
 * At most this many communities are joining at once. Until its invite's event arrives the bridge cannot tell a real
 * invite from one anyone signed for a made-up community, so joins are the cheap thing to abuse; members are not.
 */
export const MAX_JOINING = 4;
/** A join that has not made the bridge a member by then is dropped: its replica deleted, its entry forgotten. */
export const JOIN_DEADLINE_MS = 10 * 60_000;
/** Node timers take at most 2^31-1 ms; a later deadline (only with a far-off test clock) is re-armed on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const FILE_VERSION = 1;

interface StoredCommunity {
  community_id: string;
  /** The invite blob (encodeInvite) while joining. A one-scan invite holds a secret: the file is 0600. */
  invite?: string;
  /** While joining: when the join is given up (ISO 8601 UTC). Entries written before there was one get a fresh one. */
  join_deadline?: string;
}

export interface CommunityRegistryOptions {
  dataDir: string;
  keyPair: KeyPair;
  /** The bridge's name, shown to the room. */
  displayName: string;
  clock: Clock;
  logger: Logger;
  /** JOIN_DEADLINE_MS unless a test shortens it. */
  joinDeadlineMs?: number;
  /** An OpenAI-compatible model server every member node offers as llm.chat / llm.complete. */
  llmServerUrl?: string | null;
  /** Sentence-embedding models from the bridge's mirror, which every member node offers as embed.text. */
  embedders?: EmbedderSource | null;
}

export interface JoinAnswer {
  community_id: string;
  status: MemberStatus;
}

type Listener = (communityId: string, change: RoomChange) => void;

/** The stored list, or why it cannot be read. A damaged file stops the bridge rather than be overwritten. */
function parseStored(text: string, path: string): StoredCommunity[] {
  const fail = (why: string) => new Error(`${path}: ${why}; fix the file or move it away (the logs in ${COMMUNITIES_DIR}/ are kept either way)`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('not valid JSON');
  }
  const file = value as { version?: unknown; communities?: unknown };
  if (!file || typeof file !== 'object' || file.version !== FILE_VERSION || !Array.isArray(file.communities)) throw fail(`expected {"version": ${FILE_VERSION}, "communities": [...]}`);
  return file.communities.map((entry: unknown, i) => {
    const e = entry as StoredCommunity | null;
    if (!e || typeof e !== 'object' || !isFullNodeId(e.community_id)) throw fail(`communities[${i}].community_id is not a community id`);
    if (e.invite !== undefined && typeof e.invite !== 'string') throw fail(`communities[${i}].invite must be an invite blob`);
    if (e.join_deadline !== undefined && (typeof e.join_deadline !== 'string' || Number.isNaN(Date.parse(e.join_deadline)))) {
      throw fail(`communities[${i}].join_deadline must be a date (ISO 8601)`);
    }
    return {
      community_id: e.community_id,
      ...(e.invite !== undefined ? { invite: e.invite } : {}),
      ...(e.join_deadline !== undefined ? { join_deadline: e.join_deadline } : {})
    };
  });
}

export class CommunityRegistry implements HeldCommunities {
  private readonly members = new Map<string, CommunityMember>();
  /** Listed but failed to open (a damaged file, a full disk): kept in the list for the operator, retried at restart. */
  private readonly unopened: StoredCommunity[] = [];
  private readonly listeners = new Set<Listener>();
  /** When each community still joining is given up (ms), and the timer that does it. */
  private readonly deadlines = new Map<string, { atMs: number; timer: NodeJS.Timeout | null }>();
  /** Joins (and dropping joins) run one at a time: two requests for one community must not open its database twice. */
  private joining: Promise<unknown> = Promise.resolve();
  private saving: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly options: CommunityRegistryOptions) {}

  private get path(): string {
    return join(this.options.dataDir, COMMUNITIES_FILE);
  }

  static async open(options: CommunityRegistryOptions): Promise<CommunityRegistry> {
    const registry = new CommunityRegistry(options);
    let stored: StoredCommunity[] = [];
    try {
      stored = parseStored(await readFile(registry.path, 'utf8'), registry.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let dropped = false;
    for (const entry of stored) {
      try {
        dropped = !(await registry.reopen(entry)) || dropped;
      } catch (err) {
        // One damaged replica must not keep the bridge, and every other community, offline.
        options.logger.error({ err, community: entry.community_id }, 'could not open a community replica; skipping it until the next start');
        registry.unopened.push(entry);
      }
    }
    // Also saved when a pending join was listed without a deadline (a file from before there were any): it gets one.
    if (dropped || stored.some((entry) => entry.invite !== undefined && entry.join_deadline === undefined)) await registry.save();
    return registry;
  }

  get(communityId: string): CommunityMember | undefined {
    return this.members.get(communityId);
  }

  list(): CommunitySummary[] {
    return [...this.members.values()].map((member) => member.summary());
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `POST /bridge/community/join`: holds the community the invite is for, joining with the invite. Throws HearthError. */
  async join(text: unknown): Promise<JoinAnswer> {
    if (typeof text !== 'string') throw new HearthError('bad_request', 'invite must be the invite text (a blob or a join link)');
    const invite = await decodeInvite(text);
    checkInviteUsable(invite, { nowMs: this.options.clock.now(), selfNodeId: this.options.keyPair.nodeId, timeZone: 'UTC' });
    const run = this.joining.then(() => this.joinNow(invite));
    this.joining = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const deadline of this.deadlines.values()) if (deadline.timer) clearTimeout(deadline.timer);
    await this.joining;
    await Promise.all([...this.members.values()].map((member) => member.close()));
    this.members.clear();
    await this.saving;
  }

  private get joinDeadlineMs(): number {
    return this.options.joinDeadlineMs ?? JOIN_DEADLINE_MS;
  }

  private async joinNow(invite: Invite): Promise<JoinAnswer> {
    if (this.closed) throw new HearthError('partition', 'the bridge is shutting down');
    const id = invite.community_id;
    if (this.unopened.some((entry) => entry.community_id === id)) {
      throw new HearthError('internal_error', 'this bridge could not open its copy of that community; see its log');
    }
    const existing = this.members.get(id);
    if (existing?.status === 'member') return { community_id: id, status: 'member' };
    if (existing?.status === 'revoked') throw new HearthError('revoked', 'this bridge was removed from that community; an invite cannot bring it back');
    const minutes = Math.round(this.joinDeadlineMs / 60_000);
    if (existing) {
      // The first invite for a community is kept: anyone can sign an invite for a community id they have seen, so a
      // later one must not push out a genuine pending invite. Only a dead one (expired, or refused when redeemed) is
      // replaced; the join keeps its deadline either way.
      const pending = existing.pendingInvite;
      if (pending && pending.invite_event_id !== invite.invite_event_id && !this.isDead(existing, pending)) {
        throw new HearthError(
          'bad_request',
          `already joining with another invite: this bridge keeps the first invite for a community until it is used, expires or is refused, and gives the join up ${minutes} minutes after it began`,
          { extra: { reason: 'already_joining' } }
        );
      }
      await existing.setInvite(invite);
    } else {
      if (this.members.size + this.unopened.length >= MAX_HELD_COMMUNITIES) {
        throw new HearthError('capacity_exceeded', `this bridge already holds ${MAX_HELD_COMMUNITIES} communities`);
      }
      const joining = [...this.members.values()].filter((member) => member.status === 'joining');
      if (joining.length >= MAX_JOINING) {
        const now = this.options.clock.now();
        const soonest = Math.min(...joining.map((member) => this.deadlines.get(member.communityId)?.atMs ?? now + this.joinDeadlineMs));
        throw new HearthError(
          'capacity_exceeded',
          `this bridge is already joining ${MAX_JOINING} communities; one slot frees when a join finishes, or when one is given up (${minutes} minutes after it began)`,
          { retryAfterMs: Math.max(1000, Math.ceil(soonest - now)) }
        );
      }
      const member = await this.start(id, invite);
      if (member.status === 'joining') this.armDeadline(id, this.options.clock.now() + this.joinDeadlineMs);
    }
    await this.save();
    const member = this.members.get(id)!;
    this.options.logger.info({ community: id, status: member.status, inviter: shortOf(invite.inviter_node_id) }, 'holding a community');
    return { community_id: id, status: member.status };
  }

  /** A pending invite that can no longer make the bridge a member. */
  private isDead(member: CommunityMember, invite: Invite): boolean {
    return Date.parse(invite.expires_at) < this.options.clock.now() || member.redeemFailed;
  }

  /** Reopens one stored community; false when it is dropped (still joining, but its invite or its time ran out). */
  private async reopen(entry: StoredCommunity): Promise<boolean> {
    const { logger, clock, keyPair } = this.options;
    let invite: Invite | null = null;
    if (entry.invite !== undefined) {
      try {
        invite = await decodeInvite(entry.invite);
        checkInviteUsable(invite, { nowMs: clock.now(), selfNodeId: keyPair.nodeId, timeZone: 'UTC' });
      } catch (err) {
        logger.warn({ community: entry.community_id, error: HearthError.from(err).message }, 'the stored invite can no longer be used');
        invite = null;
      }
    }
    const deadlineMs = entry.join_deadline !== undefined ? Date.parse(entry.join_deadline) : clock.now() + this.joinDeadlineMs;
    const late = entry.invite !== undefined && deadlineMs <= clock.now();
    // Opened even when late: the join may have finished just before a crash kept the list from saying so.
    const member = await this.start(entry.community_id, late ? null : invite);
    if (member.status !== 'joining') return true;
    if (invite && !late) {
      this.armDeadline(entry.community_id, deadlineMs);
      return true;
    }
    logger.warn({ community: entry.community_id, deadline: entry.join_deadline }, 'dropping a community this bridge never finished joining');
    this.members.delete(entry.community_id);
    await member.close();
    // Only a join the list recorded as such is deleted; an entry without an invite was a member once (see the log).
    if (entry.invite !== undefined) await this.removeReplica(entry.community_id);
    return false;
  }

  /** Gives up the join of `communityId` at `atMs` unless the bridge is a member by then. */
  private armDeadline(communityId: string, atMs: number): void {
    const previous = this.deadlines.get(communityId);
    if (previous?.timer) clearTimeout(previous.timer);
    const entry: { atMs: number; timer: NodeJS.Timeout | null } = { atMs, timer: null };
    this.deadlines.set(communityId, entry);
    if (this.closed) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, atMs - this.options.clock.now()));
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.deadlines.get(communityId) !== entry) return;
      if (this.options.clock.now() < atMs) return this.armDeadline(communityId, atMs);
      const run = this.joining.then(() => this.giveUp(communityId, entry));
      this.joining = run.catch((err: unknown) => this.options.logger.error({ err, community: communityId }, 'could not drop a join past its deadline'));
    }, delay);
    entry.timer.unref();
  }

  private clearDeadline(communityId: string): void {
    const entry = this.deadlines.get(communityId);
    if (entry?.timer) clearTimeout(entry.timer);
    this.deadlines.delete(communityId);
  }

  /** The deadline passed: a community still joining is dropped, and its replica deleted. */
  private async giveUp(communityId: string, entry: { atMs: number }): Promise<void> {
    const member = this.members.get(communityId);
    if (this.closed || this.deadlines.get(communityId) !== entry || !member) return;
    this.deadlines.delete(communityId);
    if (member.status !== 'joining') return;
    this.options.logger.warn({ community: communityId, deadline: new Date(entry.atMs).toISOString() }, 'giving up a join that did not finish in time; deleting its replica');
    this.members.delete(communityId);
    this.emit(communityId, 'stopped');
    await member.close();
    if (member.status !== 'joining') {
      // Its `joined` was being written as the deadline struck and is now in the replica: keep it after all.
      this.options.logger.info({ community: communityId }, 'the join finished as it was being given up; keeping it');
      await this.start(communityId, null);
    } else {
      await this.removeReplica(communityId);
    }
    await this.save();
  }

  /** Deletes a replica's SQLite file and its WAL companions. */
  private async removeReplica(communityId: string): Promise<void> {
    const path = eventStorePath(join(this.options.dataDir, COMMUNITIES_DIR), communityId);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) await rm(file, { force: true });
  }

  private async start(communityId: string, invite: Invite | null): Promise<CommunityMember> {
    const { dataDir, keyPair, displayName, clock, logger } = this.options;
    const member = await CommunityMember.open(
      {
        communityId,
        keyPair,
        dir: join(dataDir, COMMUNITIES_DIR),
        displayName,
        clock,
        logger: logger.child({ community: communityId }),
        llmServerUrl: this.options.llmServerUrl ?? null,
        embedders: this.options.embedders ?? null,
        onChange: (changed, change) => this.onMemberChange(changed, change)
      },
      invite
    );
    this.members.set(communityId, member);
    this.emit(communityId, 'started');
    return member;
  }

  private onMemberChange(member: CommunityMember, change: 'status' | 'membership'): void {
    if (this.members.get(member.communityId) !== member) return;
    if (change === 'status') {
      if (member.status !== 'joining') this.clearDeadline(member.communityId);
      this.options.logger.info({ community: member.communityId, status: member.status }, 'membership of the bridge changed');
      void this.save();
    }
    this.emit(member.communityId, 'membership');
  }

  private emit(communityId: string, change: RoomChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(communityId, change);
      } catch (err) {
        this.options.logger.error({ err, community: communityId }, 'room listener failed');
      }
    }
  }

  /** Writes the list atomically (temp file, fsync, rename, fsync of the directory), one write at a time. */
  private save(): Promise<void> {
    const communities: StoredCommunity[] = [...this.members.values()].map((member) => {
      const invite = member.pendingInvite;
      if (!invite) return { community_id: member.communityId };
      const deadline = this.deadlines.get(member.communityId);
      return {
        community_id: member.communityId,
        invite: encodeInvite(invite),
        ...(deadline ? { join_deadline: new Date(deadline.atMs).toISOString() } : {})
      };
    });
    communities.push(...this.unopened);
    const run = this.saving.then(() => this.write(`${JSON.stringify({ version: FILE_VERSION, communities }, null, 2)}\n`));
    this.saving = run.catch((err: unknown) => this.options.logger.error({ err, path: this.path }, 'could not save the list of communities'));
    return run;
  }

  private async write(text: string): Promise<void> {
    const temp = `${this.path}.tmp-${randomUUID()}`;
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temp, this.path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
    // The rename is durable only once the directory entry is: fsync the directory (not possible on Windows).
    const dir = await open(this.options.dataDir, 'r').catch(() => null);
    if (dir) await dir.sync().catch(() => {}).finally(() => dir.close());
  }
}

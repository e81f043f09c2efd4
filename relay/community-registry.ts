/**
 * Every community the bridge holds a replica of. `<data_dir>/communities.json` lists them, with the invite of each
 * one still joining; `<data_dir>/communities/` holds their SQLite logs. A restarted bridge reopens every replica,
 * finishes pending joins, and its member nodes are back in their rooms before the first client connects.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { checkInviteUsable, decodeInvite, encodeInvite, type Invite } from '../src/lib/community/index.js';
import { HearthError, isFullNodeId, shortOf, type Clock, type KeyPair } from '../src/lib/core/index.js';
import { CommunityMember, type CommunitySummary, type MemberStatus } from './community-member.js';
import type { HeldCommunities, RoomChange } from './room-node.js';

export const COMMUNITIES_FILE = 'communities.json';
export const COMMUNITIES_DIR = 'communities';
/** Anyone who can sign an invite can ask the bridge to hold a community: this bounds what that costs. */
export const MAX_HELD_COMMUNITIES = 32;
const FILE_VERSION = 1;

interface StoredCommunity {
  community_id: string;
  /** The invite blob (encodeInvite) while joining. A one-scan invite holds a secret: the file is 0600. */
  invite?: string;
}

export interface CommunityRegistryOptions {
  dataDir: string;
  keyPair: KeyPair;
  /** The bridge's name, shown to the room. */
  displayName: string;
  clock: Clock;
  logger: Logger;
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
    return { community_id: e.community_id, ...(e.invite !== undefined ? { invite: e.invite } : {}) };
  });
}

export class CommunityRegistry implements HeldCommunities {
  private readonly members = new Map<string, CommunityMember>();
  /** Listed but failed to open (a damaged file, a full disk): kept in the list for the operator, retried at restart. */
  private readonly unopened: StoredCommunity[] = [];
  private readonly listeners = new Set<Listener>();
  /** Joins run one at a time: two requests for one community must not open its database twice. */
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
    if (dropped) await registry.save();
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
    await this.joining;
    await Promise.all([...this.members.values()].map((member) => member.close()));
    this.members.clear();
    await this.saving;
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
    if (existing) {
      await existing.setInvite(invite);
    } else {
      if (this.members.size + this.unopened.length >= MAX_HELD_COMMUNITIES) {
        throw new HearthError('capacity_exceeded', `this bridge already holds ${MAX_HELD_COMMUNITIES} communities`);
      }
      await this.start(id, invite);
    }
    await this.save();
    const member = this.members.get(id)!;
    this.options.logger.info({ community: id, status: member.status, inviter: shortOf(invite.inviter_node_id) }, 'holding a community');
    return { community_id: id, status: member.status };
  }

  /** Reopens one stored community; false when it is dropped (still joining, with no usable invite). */
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
    const member = await this.start(entry.community_id, invite);
    if (member.status !== 'joining' || invite) return true;
    logger.warn({ community: entry.community_id }, 'dropping a community this bridge never finished joining');
    this.members.delete(entry.community_id);
    await member.close();
    return false;
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
      return invite ? { community_id: member.communityId, invite: encodeInvite(invite) } : { community_id: member.communityId };
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

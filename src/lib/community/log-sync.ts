/**
 * Gossip of the community log over the bus (PROTOCOL.md S1–S6). `community.sync@1.0` answers one sync message
 * from a peer; this node opens an exchange with each peer when it appears and every SYNC_INTERVAL_MS, and pushes
 * each event it writes to every peer at once so others see it live. Members may sync; so may a newcomer holding
 * an unexpired invite (DESIGN §3.9), so that it can read the log before it writes its own `joined`.
 */
import { HearthError, type Clock } from '../core/index.js';
import type { CapabilityBus, CapabilityRegistration } from '../bus/index.js';
import { SYNC_MESSAGE_BYTES, SYNC_MESSAGE_SCHEMA, bytesOf, SyncResponder, syncWith, type EventEnvelope, type SyncOutcome, type SyncReply, type SyncRequest } from '../events/index.js';
import type { Scheduler, TimerHandle } from '../transport/index.js';
import type { Community } from './community.js';
import { checkInviteCredential } from './invite-credential.js';

export const SYNC_CAPABILITY = 'community.sync';
export const SYNC_VERSION = '1.0';
/** Contract §7.6 / X02 §6 heads, kept for other implementations; our own sync reconciles by content (S2). */
export const HEADS_CAPABILITY = 'community.heads';
/** Full reconciliation with every peer this often; live pushes carry new events in between. */
export const SYNC_INTERVAL_MS = 30_000;
const SYNC_CALL_TIMEOUT_MS = 15_000;
/** Sync paces itself (one message in flight per exchange); this lets a long catch-up run at link speed. */
const SYNC_RATE_PER_SECOND = 200;

/** What a newcomer presents: the invite it holds and, for a one-scan invite, proof it holds the invite's key. */
export interface InviteCredential {
  invite_event_id: string;
  proof?: string;
}

export interface LogSyncOptions {
  community: Community;
  bus: CapabilityBus;
  clock: Clock;
  scheduler: Scheduler;
  /** Peers to sync with now (linked, same community, not revoked). */
  peers: () => string[];
  /** Ours while we are not a member yet. */
  credential?: () => InviteCredential | null;
  log?: (level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

export interface PeerSyncStatus {
  at: number;
  ok: boolean;
  received: number;
  sent: number;
  error?: string;
}

export class LogSync {
  private readonly responder: SyncResponder;
  private readonly running = new Map<string, Promise<SyncOutcome | null>>();
  private readonly statuses = new Map<string, PeerSyncStatus>();
  private readonly pushQueues = new Map<string, { events: EventEnvelope[]; sending: boolean }>();
  private timer: TimerHandle | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: LogSyncOptions) {
    this.responder = new SyncResponder(options.community.log);
  }

  registration(): CapabilityRegistration {
    return {
      name: SYNC_CAPABILITY,
      version: SYNC_VERSION,
      owner: 'community',
      stability: 'beta',
      trustRequired: 'guest', // checked below: a member, or a newcomer with an invite
      idempotent: true,
      maxConcurrent: 8,
      timeoutSeconds: 15,
      ratePerSecond: SYNC_RATE_PER_SECOND,
      requestSchema: {
        type: 'object',
        required: ['input'],
        properties: {
          params: { type: 'object' },
          input: {
            type: 'object',
            required: ['items', 'want', 'events'],
            additionalProperties: false,
            properties: {
              ...SYNC_MESSAGE_SCHEMA,
              invite: { type: 'object', required: ['invite_event_id'], properties: { invite_event_id: { type: 'string', maxLength: 64 }, proof: { type: 'string', maxLength: 128 } } }
            }
          }
        }
      },
      handler: async (body, ctx) => {
        const input = (body as { input: SyncRequest & { invite?: InviteCredential } }).input;
        await this.admit(ctx.caller, input.invite);
        // A newcomer on an invite may read, and write only its own join (S4): nobody else's events through it.
        const member = this.options.community.levelOf(ctx.caller) !== 'none';
        const events = member ? input.events : input.events.filter((e) => e?.author === ctx.caller && e?.event_type === 'community.member.joined');
        const reply = await this.responder.respond({ items: input.items, want: input.want, events });
        return { output: reply };
      }
    };
  }

  /** `community.heads@1.0`: `{community_id, head, heads_by_type}` (X02 §6), for members. */
  headsRegistration(): CapabilityRegistration {
    return {
      name: HEADS_CAPABILITY,
      version: SYNC_VERSION,
      owner: 'community',
      stability: 'beta',
      trustRequired: 'member',
      idempotent: true,
      timeoutSeconds: 10,
      requestSchema: { type: 'object', properties: { params: { type: 'object' }, input: { type: 'object', additionalProperties: false } } },
      handler: async () => {
        const headsByType: Record<string, number> = {};
        for (const event of await this.options.community.log.events()) headsByType[event.event_type] = Math.max(headsByType[event.event_type] ?? 0, event.lamport);
        const head = this.options.community.log.highestStored;
        return { output: { community_id: this.options.community.communityId, head, heads_by_type: headsByType } };
      }
    };
  }

  start(): void {
    const { scheduler, bus } = this.options;
    this.timer = scheduler.setInterval(() => this.syncAll(), SYNC_INTERVAL_MS);
    // Live: every event we write goes to every peer at once (a lost push is healed by the next exchange).
    this.unsubscribe = this.options.community.log.subscribe((added) => {
      const ours = added.filter((event) => event.author === this.options.community.selfId);
      if (ours.length > 0) this.push(ours);
    });
    void bus;
  }

  stop(): void {
    if (this.timer !== null) this.options.scheduler.clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
  }

  status(): Map<string, PeerSyncStatus> {
    return new Map(this.statuses);
  }

  syncAll(): void {
    for (const peer of this.options.peers()) void this.syncWith(peer);
  }

  /** One full exchange with `peer`; concurrent requests for the same peer share it. Never throws. */
  syncWith(peer: string): Promise<SyncOutcome | null> {
    const current = this.running.get(peer);
    if (current) return current;
    const run = this.exchange(peer).finally(() => this.running.delete(peer));
    this.running.set(peer, run);
    return run;
  }

  /**
   * Sends `events` to every peer without reconciling. One push is in flight per peer; what is written meanwhile
   * waits and goes in the next one, so a burst of writes never runs a peer out of call slots (a lost push is healed
   * by the next exchange).
   */
  push(events: readonly EventEnvelope[]): void {
    for (const peer of this.options.peers()) {
      const queue = this.pushQueues.get(peer) ?? { events: [], sending: false };
      queue.events.push(...events);
      this.pushQueues.set(peer, queue);
      if (!queue.sending) void this.drainPushes(peer, queue);
    }
  }

  private async drainPushes(peer: string, queue: { events: EventEnvelope[]; sending: boolean }): Promise<void> {
    queue.sending = true;
    try {
      while (queue.events.length > 0) {
        const batch = takeEventsWithin(queue.events, SYNC_MESSAGE_BYTES / 2);
        await this.send(peer, { items: [], want: [], events: batch }).catch((err) => {
          this.options.log?.('debug', 'push failed; the next sync heals it', { peer, error: HearthError.from(err).message });
          queue.events.length = 0; // the peer is unreachable: the next exchange sends what it lacks
        });
      }
    } finally {
      queue.sending = false;
      this.pushQueues.delete(peer);
    }
  }

  private async exchange(peer: string): Promise<SyncOutcome | null> {
    const { clock } = this.options;
    try {
      const outcome = await syncWith(this.options.community.log, (request) => this.send(peer, request));
      await this.options.community.settled();
      this.statuses.set(peer, { at: clock.now(), ok: true, received: outcome.received, sent: outcome.sent });
      if (outcome.refused.length > 0) this.options.log?.('info', 'sync: some events were refused', { peer, refused: outcome.refused.slice(0, 5) });
      return outcome;
    } catch (err) {
      const error = HearthError.from(err);
      this.statuses.set(peer, { at: clock.now(), ok: false, received: 0, sent: 0, error: `${error.code}: ${error.message}` });
      this.options.log?.('debug', 'sync failed', { peer, error: error.message });
      return null;
    }
  }

  private async send(peer: string, request: SyncRequest): Promise<SyncReply> {
    // Kept on every call while we hold it: a peer that has not seen our `joined` yet still lets our push in (S4).
    const credential = this.options.credential?.() ?? null;
    const input = credential ? { ...request, invite: credential } : request;
    const answer = (await this.options.bus.call(SYNC_CAPABILITY, SYNC_VERSION, { input }, { node: peer, timeoutMs: SYNC_CALL_TIMEOUT_MS })) as { output: SyncReply };
    return answer.output;
  }

  /** Members sync; a non-member only with an invite it can prove it holds. */
  private async admit(caller: string, invite: InviteCredential | undefined): Promise<void> {
    const { community } = this.options;
    const level = community.levelOf(caller);
    if (level === 'revoked') throw new HearthError('revoked', 'this node was removed from the community');
    if (level !== 'none') return;
    if (!invite) throw new HearthError('unauthorized', 'only members of this community may sync its log; redeem an invite first');
    await checkInviteCredential(community, caller, invite, this.options.clock.now());
  }
}

/** Takes events from the front of `queue` up to `budget` bytes (at least one). */
function takeEventsWithin(queue: EventEnvelope[], budget: number): EventEnvelope[] {
  const taken: EventEnvelope[] = [];
  let used = 0;
  while (queue.length > 0) {
    const size = bytesOf(queue[0]);
    if (taken.length > 0 && used + size > budget) break;
    used += size;
    taken.push(queue.shift()!);
  }
  return taken;
}

/**
 * Auto-expiry (M06 §4.2): once a minute, append `market.post.expired` with reason "stale" for posts past their
 * expires_at that no event has ended. Lists already hide such posts (V5); the event makes the end explicit in the
 * log, so snapshots and other implementations need no clock to agree.
 *
 * Which posts a node sweeps follows `mayExpire`: its own posts always, others' only when it is trusted or anchor.
 * Others' posts wait `FOREIGN_SWEEP_GRACE_MS` first, giving the author's own node the chance to do it, because
 * every trusted node online would otherwise append its own copy of the same expiry (the view keeps the first, V4).
 */
import type { Clock } from '../core/index.js';
import type { CallerLevel } from '../bus/index.js';
import type { EventEnvelope, EventType } from '../events/index.js';
import type { Scheduler, TimerHandle } from '../transport/index.js';
import type { MarketView } from './market-view.js';
import { isActiveMember, mayExpire } from './post.js';

export const SWEEP_PERIOD_MS = 60_000;
export const FOREIGN_SWEEP_GRACE_MS = 10 * 60_000;

export interface SweeperDeps {
  view: MarketView;
  append(eventType: EventType, data: Record<string, unknown>): Promise<EventEnvelope>;
  /** Community level, as for the service. */
  levelOf(nodeId: string): CallerLevel;
  clock: Clock;
  selfId: string;
  scheduler: Pick<Scheduler, 'setInterval' | 'clearInterval'>;
}

export class MarketSweeper {
  private timer: TimerHandle | null = null;
  private running = false;
  /** Posts we have appended an expiry for; the view may not show it yet. Cleared of what the view has ended. */
  private readonly sent = new Set<string>();
  /** Appends that failed (a full store, a closed log); the next sweep tries again. */
  failures = 0;

  constructor(private readonly deps: SweeperDeps) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = this.deps.scheduler.setInterval(() => void this.sweep(), SWEEP_PERIOD_MS);
  }

  stop(): void {
    if (this.timer === null) return;
    this.deps.scheduler.clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass; returns the expiry events it appended. A pass still running makes this one a no-op. */
  async sweep(): Promise<EventEnvelope[]> {
    if (this.running) return [];
    this.running = true;
    try {
      return await this.expireDue();
    } finally {
      this.running = false;
    }
  }

  private async expireDue(): Promise<EventEnvelope[]> {
    const { view, clock, selfId } = this.deps;
    const level = this.deps.levelOf(selfId);
    if (!isActiveMember(level)) return [];
    const now = clock.now();
    const due = view.dueForSweep(now);
    const dueIds = new Set(due.map((post) => post.event_id));
    for (const id of this.sent) if (!dueIds.has(id)) this.sent.delete(id);
    const appended: EventEnvelope[] = [];
    for (const post of due) {
      if (this.sent.has(post.event_id) || !mayExpire(selfId, level, post.author, 'stale')) continue;
      if (post.author !== selfId && Date.parse(post.expires_at) + FOREIGN_SWEEP_GRACE_MS > now) continue;
      try {
        const event = await this.deps.append('market.post.expired', { client_id: `stale:${post.event_id}`, target_event_id: post.event_id, reason: 'stale' });
        this.sent.add(post.event_id);
        appended.push(event);
      } catch {
        this.failures++;
      }
    }
    return appended;
  }
}

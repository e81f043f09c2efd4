/**
 * In-memory links for tests and simulations. A pair joins two nodes; conditions (delay, jitter, drop, reorder)
 * come from a seeded PRNG so a run repeats exactly. Dropping and partitions deliberately break the Link port's
 * "reliable" promise: they stand in for a carrier that failed and has not noticed yet.
 */
import type { Clock } from '../core/index.js';
import type { Link, LinkFrame, LinkPath } from './link.js';
import type { Rng } from './prng.js';
import type { Scheduler } from './scheduler.js';

export interface LinkConditions {
  delayMs: number;
  /** Extra delay, uniform in [0, jitterMs). */
  jitterMs: number;
  /** Probability that a frame silently disappears. */
  dropRate: number;
  /** When true each frame's delay is independent, so later frames may overtake earlier ones. */
  reorder: boolean;
}

export interface MemoryLinkOptions extends Partial<LinkConditions> {
  /** Required when anything is random (jitter, drop). */
  rng?: Rng;
  /** Required for delays; without one, frames arrive on the next microtask. */
  scheduler?: Scheduler;
  clock?: Clock;
  path?: LinkPath;
  /** Link ids are `${id}:a` and `${id}:b`; default from the two NodeIDs, so pass one for a second pair. */
  id?: string;
}

export interface MemoryLinkPair {
  /** The end node `a` holds: its remote is `b`. */
  readonly a: Link;
  /** The end node `b` holds: its remote is `a`. */
  readonly b: Link;
  setConditions(conditions: Partial<LinkConditions>): void;
  /** While partitioned every frame, including those already in flight, is lost; the link stays open. */
  setPartitioned(partitioned: boolean): void;
  readonly partitioned: boolean;
  close(): void;
}

class MemoryLinkEnd implements Link {
  peer!: MemoryLinkEnd;
  closed = false;
  private readonly frameListeners: ((frame: LinkFrame) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];
  /** When the last frame sent from this end arrives, so FIFO links never let a frame overtake. */
  lastArrivalMs = 0;

  constructor(
    readonly id: string,
    readonly remoteNodeId: string,
    readonly path: LinkPath,
    private readonly pair: MemoryLinkPairImpl
  ) {}

  async send(frame: LinkFrame): Promise<void> {
    if (this.closed) throw new Error(`link ${this.id} is closed`);
    this.pair.carry(this, typeof frame === 'string' ? frame : frame.slice());
  }

  onFrame(listener: (frame: LinkFrame) => void): void {
    this.frameListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    this.pair.close();
  }

  deliver(frame: LinkFrame): void {
    if (this.closed) return;
    for (const listener of this.frameListeners) listener(frame);
  }

  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners) listener();
  }
}

class MemoryLinkPairImpl implements MemoryLinkPair {
  readonly a: MemoryLinkEnd;
  readonly b: MemoryLinkEnd;
  partitioned = false;
  private conditions: LinkConditions;

  constructor(
    aNodeId: string,
    bNodeId: string,
    private readonly options: MemoryLinkOptions
  ) {
    const id = options.id ?? `mem:${aNodeId}|${bNodeId}`;
    const path = options.path ?? 'memory';
    this.a = new MemoryLinkEnd(`${id}:a`, bNodeId, path, this);
    this.b = new MemoryLinkEnd(`${id}:b`, aNodeId, path, this);
    this.a.peer = this.b;
    this.b.peer = this.a;
    this.conditions = { delayMs: 0, jitterMs: 0, dropRate: 0, reorder: false };
    this.setConditions(options);
  }

  setConditions(conditions: Partial<LinkConditions>): void {
    const next = { ...this.conditions };
    for (const key of ['delayMs', 'jitterMs', 'dropRate', 'reorder'] as const) {
      if (conditions[key] !== undefined) (next as Record<string, unknown>)[key] = conditions[key];
    }
    if ((next.jitterMs > 0 || next.dropRate > 0) && !this.options.rng) throw new Error('memory link: jitter and drop need an rng');
    if ((next.delayMs > 0 || next.jitterMs > 0) && !(this.options.scheduler && this.options.clock)) {
      throw new Error('memory link: delays need a scheduler and a clock');
    }
    this.conditions = next;
  }

  setPartitioned(partitioned: boolean): void {
    this.partitioned = partitioned;
  }

  carry(from: MemoryLinkEnd, frame: LinkFrame): void {
    const { delayMs, jitterMs, dropRate, reorder } = this.conditions;
    const { rng, scheduler, clock } = this.options;
    // Draw in a fixed order whatever the conditions, so changing one knob does not reshuffle every later draw.
    const dropDraw = rng ? rng() : 1;
    const jitterDraw = rng ? rng() : 0;
    if (this.partitioned || dropDraw < dropRate) return;
    const to = from.peer;
    const arrive = () => {
      if (!this.partitioned) to.deliver(frame);
    };
    if (!scheduler || !clock || (delayMs === 0 && jitterMs === 0)) {
      queueMicrotask(arrive);
      return;
    }
    const now = clock.now();
    let arrival = now + delayMs + jitterDraw * jitterMs;
    if (!reorder) arrival = Math.max(arrival, from.lastArrivalMs);
    from.lastArrivalMs = arrival;
    scheduler.setTimeout(arrive, arrival - now);
  }

  close(): void {
    if (this.a.closed && this.b.closed) return;
    // Both ends learn at once, as when a data channel closes: there is no graceful half-close.
    this.a.markClosed();
    this.b.markClosed();
  }
}

export function createMemoryLinkPair(aNodeId: string, bNodeId: string, options: MemoryLinkOptions = {}): MemoryLinkPair {
  return new MemoryLinkPairImpl(aNodeId, bNodeId, options);
}

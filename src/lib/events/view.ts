/**
 * Materialised views (X02 §3.4): each service derives its state from the log by applying events in replay order.
 * A view is a pure function of the ordered events, so every node that holds the same events holds the same view,
 * whatever order they arrived in. The engine applies new events incrementally when they sort after everything
 * applied so far, and replays from the start when one lands in the past. A snapshot (snapshot.ts) only shortens the
 * replay at open.
 */
import type { EventEnvelope, EventType } from './envelope.js';
import { compareEvents } from './order.js';

export interface MaterialisedView<State = unknown> {
  /** Key of this view's state in a snapshot. */
  readonly name: string;
  /** The event types it reads; others never reach `apply`. */
  readonly eventTypes: readonly EventType[];
  reset(): void;
  apply(event: EventEnvelope): void;
  /** Plain JSON, so a snapshot can carry it. */
  snapshotState(): State;
  restoreState(state: State): void;
}

/** Where replay stands: the last event applied. */
export interface ReplayPosition {
  lamport: number;
  event_id: string;
}

export type ViewsListener = (added: readonly EventEnvelope[]) => void;

export class ReplayEngine {
  private readonly views: MaterialisedView[] = [];
  private readonly listeners = new Set<ViewsListener>();
  private position: ReplayPosition | null = null;
  private rebuilds = 0;
  private covered = 0;
  private applications = 0;

  /** Views are applied in registration order for each event: register what others consult (the community) first. */
  register(view: MaterialisedView): void {
    if (this.views.some((existing) => existing.name === view.name)) throw new Error(`a view named ${view.name} is already registered`);
    this.views.push(view);
  }

  /** The registered view named `name`; throws if there is none (a wiring mistake). */
  view(name: string): MaterialisedView {
    const found = this.views.find((view) => view.name === name);
    if (!found) throw new Error(`no view named ${name} is registered`);
    return found;
  }

  /** Full replays so far (each out-of-order arrival costs one). */
  get rebuildCount(): number {
    return this.rebuilds;
  }

  get applied(): ReplayPosition | null {
    return this.position;
  }

  /** How many events the views' state covers: those up to `applied`. */
  get coveredCount(): number {
    return this.covered;
  }

  /** Events run through the views since this engine was made, replays counted again: the work replay did. */
  get applyCount(): number {
    return this.applications;
  }

  /** Resets every view and replays `events` (any order). */
  rebuild(events: readonly EventEnvelope[]): void {
    this.rebuilds++;
    for (const view of this.views) view.reset();
    this.position = null;
    this.covered = 0;
    this.applyInOrder([...events].sort(compareEvents));
  }

  /**
   * Newly stored events. When all of them sort after what was applied, they are applied; otherwise `all` (the
   * whole log, fetched only then) is replayed from scratch.
   */
  async added(events: readonly EventEnvelope[], all: () => Promise<readonly EventEnvelope[]>): Promise<void> {
    if (events.length === 0) return;
    const sorted = [...events].sort(compareEvents);
    if (this.position === null || compareEvents(sorted[0], this.position) > 0) {
      this.applyInOrder(sorted);
    } else {
      this.rebuild(await all());
    }
    for (const listener of [...this.listeners]) listener(sorted);
  }

  /** Heard after the views have applied a batch. */
  subscribe(listener: ViewsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshotState(): Record<string, unknown> {
    const state: Record<string, unknown> = {};
    for (const view of this.views) state[view.name] = view.snapshotState();
    return state;
  }

  /**
   * Restores every view from a snapshot taken at `position` covering `events` events; events after it are then
   * applied as usual. If it throws, the views are half restored: rebuild them.
   */
  restore(state: Record<string, unknown>, position: ReplayPosition, events = 0): void {
    const missing = this.views.find((view) => !(view.name in state));
    if (missing) throw new Error(`the snapshot has no state for the ${missing.name} view`);
    for (const view of this.views) view.restoreState(state[view.name]);
    this.position = { lamport: position.lamport, event_id: position.event_id };
    this.covered = events;
  }

  private applyInOrder(sorted: readonly EventEnvelope[]): void {
    for (const event of sorted) {
      for (const view of this.views) if (view.eventTypes.includes(event.event_type)) view.apply(event);
      this.position = event;
    }
    this.covered += sorted.length;
    this.applications += sorted.length;
  }
}

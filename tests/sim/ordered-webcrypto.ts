/**
 * WebCrypto for simulations, with completions released in the order operations started. Why: WebCrypto finishes
 * on libuv's thread pool in an order no seed controls, so two runs of one scenario could interleave differently.
 * Here every `crypto.subtle` call still runs on the real engine (fast, and the engine production uses), but its
 * promise settles only when the whole batch it started with has finished, in start order. VirtualTime waits for
 * this queue to drain before each timer, so everything that happens "at" a virtual instant completes there.
 *
 * Call useOrderedWebCrypto() at the top of a test file, before anything signs or verifies (the core remembers the
 * `subtle` it found on first use).
 */
import { afterAll, vi } from 'vitest';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

class OrderedCompletions {
  private pending: { outcome: Promise<Outcome>; settle: (outcome: Outcome) => void }[] = [];
  private draining: Promise<void> | null = null;

  run<T>(start: () => Promise<T>): Promise<T> {
    const outcome = start().then(
      (value): Outcome => ({ ok: true, value }),
      (error: unknown): Outcome => ({ ok: false, error })
    );
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ outcome, settle: (o) => (o.ok ? resolve(o.value as T) : reject(o.error)) });
      this.draining ??= this.drain();
    });
  }

  get busy(): boolean {
    return this.draining !== null;
  }

  idle(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    // Let the current burst of promise jobs start all its operations, so a batch never depends on timing.
    await nextTurn();
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      const outcomes = await Promise.all(batch.map((op) => op.outcome));
      batch.forEach((op, i) => op.settle(outcomes[i]));
      await nextTurn();
    }
    this.draining = null;
  }
}

let active: OrderedCompletions | null = null;

export function useOrderedWebCrypto(): void {
  const real = globalThis.crypto;
  const completions = new OrderedCompletions();
  const subtle = new Proxy(real.subtle, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => completions.run(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    }
  });
  vi.stubGlobal('crypto', { subtle, getRandomValues: real.getRandomValues.bind(real), randomUUID: real.randomUUID.bind(real) });
  active = completions;
  afterAll(() => {
    active = null;
    vi.unstubAllGlobals();
  });
}

/** Resolves once no ordered crypto operation is in flight and their continuations have run. */
export async function settleOrderedCrypto(): Promise<void> {
  while (active?.busy) {
    await active.idle();
    await nextTurn();
  }
}

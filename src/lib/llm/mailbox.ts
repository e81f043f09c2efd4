/**
 * Hands tokens from a callback (transformers.js's streamer inside `model.generate`, or a model worker's messages) to
 * an engine's async generator, which may be slower or may stop listening. Waiting also ends when the caller's signal aborts, so a
 * cancel returns at once even while a forward pass is still running.
 */
export type Taken<T> = { kind: 'item'; item: T } | { kind: 'done' } | { kind: 'aborted' };

export class Mailbox<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  put(item: T): void {
    this.items.push(item);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.notify();
  }

  /** The next item; `done` once all items are taken after `end()`; throws the error given to `fail()`. */
  async take(signal: AbortSignal): Promise<Taken<T>> {
    for (;;) {
      if (signal.aborted) return { kind: 'aborted' };
      if (this.items.length > 0) return { kind: 'item', item: this.items.shift() as T };
      if (this.failure) throw this.failure.error;
      if (this.ended) return { kind: 'done' };
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
      this.wake = null;
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

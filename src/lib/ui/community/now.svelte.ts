import { createSubscriber } from 'svelte/reactivity';

/**
 * The current time as reactive state that moves every `intervalMs` while something reads it, so "5 minutes ago"
 * and "expires in 2 hours" stay true on a page left open. The timer runs only while a reader is mounted.
 */
export class Now {
  readonly #subscribe: () => void;

  constructor(intervalMs = 30_000) {
    this.#subscribe = createSubscriber((update) => {
      const timer = setInterval(update, intervalMs);
      return () => clearInterval(timer);
    });
  }

  get ms(): number {
    this.#subscribe();
    return Date.now();
  }
}

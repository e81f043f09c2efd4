/**
 * One generation at a time, the rest wait in arrival order — up to a limit, beyond which callers are refused with
 * `capacity_exceeded` (retryable: the bus can try another provider). One model on one CPU or GPU gains nothing from
 * running two generations at once, and onnxruntime-web cannot run one session twice concurrently.
 */
import { HearthError } from '../../core/errors.js';

export type Release = () => void;

export class Turnstile {
  private busy = false;
  private readonly waiting: { admit: (release: Release) => void }[] = [];

  constructor(private readonly maxWaiting: number) {}

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a release function when it is the caller's turn, or with null if `signal` aborts first.
   * The release function must be called exactly once (later calls are ignored).
   */
  enter(signal: AbortSignal): Promise<Release | null> {
    if (signal.aborted) return Promise.resolve(null);
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(new HearthError('capacity_exceeded', `this model is busy: one generation runs and ${this.waiting.length} wait; try again shortly or ask another node`, { retryAfterMs: 2000 }));
    }
    return new Promise((resolve) => {
      const entry = {
        admit: (release: Release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        }
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at !== -1) this.waiting.splice(at, 1);
        resolve(null);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next.admit(this.releaser());
      else this.busy = false;
    };
  }
}

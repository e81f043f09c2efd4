/**
 * Starting a model worker (workers/model.worker.ts) for one model and loading it there, for the LLM device model
 * and the embedding model alike. A terminated or broken worker never answers a comlink call, so every wait races
 * the worker's `error` event and the caller's abort; on any failure the worker is terminated.
 */
import * as Comlink from 'comlink';
import { HearthError } from '../src/lib/core/index.js';
import type { ModelWorkerApi } from './model-worker-api.js';

export interface SpawnedModelWorker {
  worker: Worker;
  remote: Comlink.Remote<ModelWorkerApi>;
  /** Releases the proxy and terminates the worker. */
  stop(): void;
}

/**
 * Runs `load` in a fresh model worker named `name`; `use` turns what it returned into the loaded model. Throws the
 * load's error, `internal_error` when the worker dies or the load is cancelled; the worker is stopped then.
 */
export async function loadInModelWorker<Loaded, Result>(
  name: string,
  signal: AbortSignal,
  load: (remote: Comlink.Remote<ModelWorkerApi>) => Promise<Loaded>,
  use: (loaded: Loaded, spawned: SpawnedModelWorker) => Result
): Promise<Result> {
  const worker = new Worker(new URL('./model.worker.ts', import.meta.url), { type: 'module', name });
  const remote = Comlink.wrap<ModelWorkerApi>(worker);
  const stop = () => {
    remote[Comlink.releaseProxy]();
    worker.terminate();
  };
  let onAbort = () => {};
  let onError = (_event: ErrorEvent) => {};
  const failed = new Promise<never>((_, reject) => {
    onAbort = () => reject(new HearthError('internal_error', `loading ${name} was cancelled`));
    onError = (event) => reject(new HearthError('internal_error', `the model worker stopped: ${event.message || 'its script could not be loaded (was the app updated? reload the page)'}`));
  });
  signal.addEventListener('abort', onAbort, { once: true });
  worker.addEventListener('error', onError);
  if (signal.aborted) onAbort();
  try {
    const loaded = await Promise.race([load(remote), failed]);
    return use(loaded, { worker, remote, stop });
  } catch (err) {
    stop();
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    worker.removeEventListener('error', onError);
  }
}

/**
 * The sentence-embedding model this browser runs, for better library search: DeviceModel's ports for it (the same
 * load / unload / remember / retry life as the Ask page's model). The survey lists the sentence-embedding models on
 * the bridge's mirror (src/lib/embed/mirror-models.ts); a load runs the chosen one in a fresh model worker
 * (workers/model.worker.ts) from the mirror only — never the internet — and the ready model reaches the node's
 * EmbedService as an Embedder whose batches cross to that worker.
 */
import * as Comlink from 'comlink';
import type { EmbeddingModelState, DeviceModelState } from '../src/lib/client/api.js';
import { HearthError } from '../src/lib/core/index.js';
import type { Embedder } from '../src/lib/embed/embedder.js';
import { mirrorEmbeddingModels } from '../src/lib/embed/mirror-models.js';
import { mirrorFileUrl, mirrorRemoteHost, type MirrorIndex } from '../src/lib/llm/mirror.js';
import type { DeviceModelPorts, LoadedModel, LoadProgress, ModelChoice } from './device-model.js';
import { mirrorIndex } from './device-model-ports.js';
import type { EmbedderLoadOutcome, ModelWorkerApi } from './model-worker-api.js';
import { loadInModelWorker } from './model-worker-spawn.js';

export interface EmbeddingModelPortsOptions {
  bridgeUrl: string;
  /** Hands the ready embedder to the EmbedService (null: take the last one away). */
  offer(embedder: Embedder | null): Promise<void>;
  save(choice: ModelChoice | null): Promise<void>;
}

/** The survey has no use for the GPU: embedding models run on the processor (WASM). */
const NO_GPU = { usable: false, reason: 'not used for embedding models', adapter: null };

async function embeddingModelsOn(index: MirrorIndex | null, bridgeUrl: string) {
  return mirrorEmbeddingModels(index, async (repo) => {
    const res = await fetch(mirrorFileUrl(bridgeUrl, repo, 'config.json'));
    if (!res.ok) throw new HearthError('not_found', `${repo}/config.json answered ${res.status}`);
    return res.json() as Promise<unknown>;
  });
}

/** An Embedder whose work runs in a model worker. Once the worker is gone, calls say the model is not here. */
class WorkerEmbedder implements Embedder {
  readonly id: string;
  private stoppedBecause: HearthError | null = null;
  private readonly stopped: Promise<never>;
  private stop: (error: HearthError) => void = () => undefined;

  constructor(
    readonly model: string,
    readonly dimensions: number,
    readonly maxBatch: number,
    private readonly remote: Comlink.Remote<ModelWorkerApi>
  ) {
    this.id = `worker:${model}`;
    this.stopped = new Promise<never>((_, reject) => (this.stop = reject));
    this.stopped.catch(() => undefined);
  }

  close(why: string): void {
    this.stoppedBecause ??= new HearthError('not_implemented', `the embedding model "${this.model}" is not loaded on this node any more: ${why}`);
    this.stop(this.stoppedBecause);
  }

  async embed(texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
    if (this.stoppedBecause) throw this.stoppedBecause;
    if (signal.aborted) throw new HearthError('timeout', 'the call was cancelled before its texts were embedded');
    // A terminated or broken worker never answers a comlink call: race it against the worker stopping.
    const outcome = await Promise.race([this.remote.embed([...texts]), this.stopped]);
    if (!outcome.ok) throw HearthError.fromWire(outcome.error);
    return outcome.vectors;
  }
}

export function embeddingModelPorts(options: EmbeddingModelPortsOptions): DeviceModelPorts<Embedder> {
  const { bridgeUrl } = options;
  return {
    async survey() {
      const mirror = await mirrorIndex(bridgeUrl);
      const models = await embeddingModelsOn(mirror.index, bridgeUrl);
      return {
        webgpu: NO_GPU,
        mirror: mirror.state,
        options: models.map((m) => ({ backend: 'transformers' as const, id: m.id, vramMB: null, sizeMB: Math.round((m.bytes / 2 ** 20) * 10) / 10, fits: true, reason: null, source: 'mirror' as const }))
      };
    },

    async load(choice, onProgress, signal) {
      const { index, state } = await mirrorIndex(bridgeUrl);
      if (state === 'unreachable') throw new HearthError('partition', `the bridge's model mirror could not be reached, so ${choice.id} cannot be loaded now; it is tried again when the bridge is back`);
      const found = (await embeddingModelsOn(index, bridgeUrl)).find((m) => m.id === choice.id);
      if (!found) throw new HearthError('not_found', `${choice.id} is not a sentence-embedding model on the bridge's mirror (any more)`);
      return loadInModelWorker(
        `embedding model ${choice.id}`,
        signal,
        (remote): Promise<EmbedderLoadOutcome> => remote.loadEmbedder({ model: found.id, baseUrl: mirrorRemoteHost(bridgeUrl), dtype: found.dtype }, Comlink.proxy((p: LoadProgress) => onProgress(p))),
        (outcome, { worker, remote, stop }) => {
          if (!outcome.ok) throw HearthError.fromWire(outcome.error);
          const embedder = new WorkerEmbedder(found.id, outcome.dimensions, outcome.maxBatch, remote);
          worker.addEventListener('error', () => embedder.close('its model worker stopped'));
          const close = () => {
            embedder.close('it was turned off on this device');
            stop();
          };
          return { engine: embedder, close } satisfies LoadedModel<Embedder>;
        }
      );
    },

    offer: options.offer,
    save: options.save
  };
}

/** The client API's view: the device model's state for an embedding model, with what the node embeds with now. */
export function embeddingModelState(state: DeviceModelState, embed: { models: string[]; preferredModel: string }): EmbeddingModelState {
  return {
    mirror: state.mirror,
    options: state.options.map((o) => ({ id: o.id, sizeMB: o.sizeMB ?? 0 })),
    chosen: state.chosen?.id ?? null,
    phase: state.phase,
    progress: state.progress,
    problem: state.problem,
    models: embed.models,
    preferred: embed.preferredModel
  };
}

/** What a model worker (workers/model.worker.ts) offers the node worker that spawned it, through comlink. */
import type { AppConfig } from '@mlc-ai/web-llm';
import type { WireError } from '../src/lib/core/errors.js';
import type { EnginePortApi } from '../src/lib/llm/port/index.js';
import type { TransformersDtype } from '../src/lib/llm/transformers/index.js';

export interface ModelLoadProgress {
  /** 0…1 of the current step. */
  fraction: number;
  /** What is happening, in the library's words (a file name, "Loading GPU shader modules[3/40]"). */
  text: string;
}

export interface TransformersLoad {
  /** `org/repo`, which is also the model's offered name. */
  model: string;
  /** Where `<org>/<repo>/resolve/main/<file>` is fetched from: the bridge's mirror, or the internet when asked. */
  baseUrl: string;
  dtype: TransformersDtype;
}

export type LoadOutcome = { ok: true; id: string; maxConcurrent?: number } | { ok: false; error: WireError };

export interface ModelWorkerApi extends EnginePortApi {
  loadWebLlm(modelId: string, appConfig: AppConfig, onProgress: (progress: ModelLoadProgress) => void): Promise<LoadOutcome>;
  loadTransformers(load: TransformersLoad, onProgress: (progress: ModelLoadProgress) => void): Promise<LoadOutcome>;
}

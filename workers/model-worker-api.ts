/** What a model worker (workers/model.worker.ts) offers the node worker that spawned it, through comlink. */
import type { AppConfig } from '@mlc-ai/web-llm';
import type { WireError } from '../src/lib/core/errors.js';
import type { EnginePortApi } from '../src/lib/llm/port/index.js';
import type { TransformersDtype } from '../src/lib/llm/transformers/index.js';
import type { EmbedderDtype } from '../src/lib/embed/transformers-embedder.js';

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

/** A sentence-embedding model from the bridge's mirror (src/lib/embed/mirror-models.ts). */
export interface EmbedderLoad {
  /** `org/repo`, which is also the model's name on the mesh. */
  model: string;
  /** The mirror's `<bridge>/models/`; nothing else is fetched from. */
  baseUrl: string;
  dtype: EmbedderDtype;
}

export type EmbedderLoadOutcome = { ok: true; dimensions: number; maxBatch: number } | { ok: false; error: WireError };
/** Vectors travel as transferred buffers, one per text. */
export type EmbedOutcome = { ok: true; vectors: Float32Array[] } | { ok: false; error: WireError };

export interface ModelWorkerApi extends EnginePortApi {
  loadWebLlm(modelId: string, appConfig: AppConfig, onProgress: (progress: ModelLoadProgress) => void): Promise<LoadOutcome>;
  loadTransformers(load: TransformersLoad, onProgress: (progress: ModelLoadProgress) => void): Promise<LoadOutcome>;
  /** Loads a sentence-embedding model instead of a language model (one model a worker, either kind). */
  loadEmbedder(load: EmbedderLoad, onProgress: (progress: ModelLoadProgress) => void): Promise<EmbedderLoadOutcome>;
  embed(texts: string[]): Promise<EmbedOutcome>;
}

/**
 * A model worker (DESIGN §1): runs one model — WebLLM on the GPU or transformers.js on the processor, a language
 * model or a sentence-embedding model (used through `embed`, not the engine port) — so downloads,
 * shader compiles and inference never stall the node worker, which keeps answering pings, sync and every other call
 * meanwhile. The node worker spawns one per loaded model, loads it here, and uses it as an ordinary engine through
 * the engine port (src/lib/llm/port). Terminating the worker frees the model's memory.
 *
 * Each library is imported only when its kind of model is loaded, so a device that never runs a model never
 * downloads either (they are cached by the service worker on first use, not precached).
 */
import * as Comlink from 'comlink';
import type { AppConfig } from '@mlc-ai/web-llm';
// onnxruntime-web's WASM build, served from the app itself: never from a CDN (offline means offline).
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import { HearthError, type WireError } from '../src/lib/core/errors.js';
import type { LlmEngine } from '../src/lib/llm/engine.js';
import { serveEngine, type EnginePortApi } from '../src/lib/llm/port/index.js';
import type { Embedder } from '../src/lib/embed/embedder.js';
import type { EmbedderLoad, LoadOutcome, ModelLoadProgress, ModelWorkerApi, TransformersLoad } from './model-worker-api.js';

let served: EnginePortApi | null = null;
let engine: (LlmEngine & { dispose?(): Promise<void> }) | null = null;
let embedder: Embedder | null = null;
const wasmPaths = () => ({ wasm: new URL(ortWasm, self.location.href).href, mjs: new URL(ortMjs, self.location.href).href });

/** Progress arrives per file; people want one bar for the whole model. */
function wholeModelProgress(onProgress: (progress: ModelLoadProgress) => void) {
  const files = new Map<string, { loaded: number; total: number }>();
  return (p: { file: string; loaded: number; total: number }) => {
    files.set(p.file, { loaded: p.loaded, total: p.total });
    let loadedBytes = 0;
    let totalBytes = 0;
    for (const file of files.values()) {
      loadedBytes += file.loaded;
      totalBytes += file.total;
    }
    onProgress({ fraction: totalBytes > 0 ? loadedBytes / totalBytes : 0, text: p.file });
  };
}

const notLoaded = (): WireError => new HearthError('not_implemented', 'no model is loaded in this model worker').toWire();

async function loaded(load: () => Promise<LlmEngine>): Promise<LoadOutcome> {
  if (engine || embedder) return { ok: false, error: new HearthError('bad_request', 'this model worker already holds a model').toWire() };
  try {
    engine = await load();
    served = serveEngine(engine);
    return { ok: true, id: engine.id, maxConcurrent: engine.maxConcurrent };
  } catch (err) {
    return { ok: false, error: HearthError.from(err).toWire() };
  }
}

const api: ModelWorkerApi = {
  loadWebLlm(modelId: string, appConfig: AppConfig, onProgress: (progress: ModelLoadProgress) => void) {
    return loaded(async () => {
      const { loadWebLlm, createEngineInThisThread } = await import('../src/lib/llm/webllm/load-webllm.js');
      return loadWebLlm({
        modelId,
        appConfig,
        createEngine: createEngineInThisThread,
        onProgress: (p) => onProgress({ fraction: p.fraction, text: p.text })
      });
    });
  },

  loadTransformers(load: TransformersLoad, onProgress: (progress: ModelLoadProgress) => void) {
    return loaded(async () => {
      const { TransformersEngine } = await import('../src/lib/llm/transformers/index.js');
      const transformers = new TransformersEngine({
        model: load.model,
        source: { baseUrl: load.baseUrl },
        dtype: load.dtype,
        device: 'wasm',
        wasmPaths: wasmPaths()
      });
      await transformers.load(wholeModelProgress(onProgress));
      return transformers;
    });
  },

  async loadEmbedder(load: EmbedderLoad, onProgress: (progress: ModelLoadProgress) => void) {
    if (engine || embedder) return { ok: false, error: new HearthError('bad_request', 'this model worker already holds a model').toWire() };
    try {
      const { TransformersEmbedder } = await import('../src/lib/embed/transformers-embedder.js');
      const loading = new TransformersEmbedder({
        model: load.model,
        source: { baseUrl: load.baseUrl },
        dtype: load.dtype,
        device: 'wasm',
        wasmPaths: wasmPaths(),
        onProgress: wholeModelProgress(onProgress)
      });
      await loading.load();
      embedder = loading;
      return { ok: true, dimensions: loading.dimensions, maxBatch: loading.maxBatch };
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire() };
    }
  },

  async embed(texts: string[]) {
    if (!embedder) return { ok: false, error: notLoaded() };
    try {
      const vectors = await embedder.embed(texts, new AbortController().signal);
      return Comlink.transfer({ ok: true as const, vectors }, vectors.map((v) => v.buffer as ArrayBuffer));
    } catch (err) {
      return { ok: false, error: HearthError.from(err).toWire() };
    }
  },

  async id() {
    return engine?.id ?? embedder?.id ?? 'none';
  },
  async models() {
    return served ? served.models() : { ok: false, error: notLoaded() };
  },
  async generate(callId, request, onToken) {
    return served ? served.generate(callId, request, onToken) : { ok: false, error: notLoaded() };
  },
  async cancel(callId) {
    await served?.cancel(callId);
  }
};

Comlink.expose(api);

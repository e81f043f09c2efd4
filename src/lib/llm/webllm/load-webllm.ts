/**
 * Loading a WebLLM model: downloads (from the bridge's mirror where the AppConfig says so, see mirror-config.ts),
 * compiles the GPU shaders, reports progress in three phases, and hands back the ready engine as a WebLlmEngine.
 *
 * How WebLLM is created is injected (`createEngine`, a fake in tests). The app calls this inside a model worker
 * (workers/model.worker.ts) with {@link createEngineInThisThread}, which keeps GPU work and multi-second shader
 * compiles off the node worker; web-llm is imported lazily, so importing this file costs nothing until a model loads.
 */
import type { AppConfig, InitProgressReport, MLCEngineConfig } from '@mlc-ai/web-llm';
import { HearthError } from '../../core/errors.js';
import { WebLlmEngine, type MlcEngineLike, type WebLlmEngineOptions } from './webllm-engine.js';
import { errorFromWebLlm } from './webllm-errors.js';

export type LoadPhase = 'download' | 'load' | 'ready';

export interface LoadProgress {
  /** 0…1 within the current phase (WebLLM restarts its count for each). */
  fraction: number;
  /** WebLLM's own words, e.g. "Fetching param cache[3/22]: 120MB fetched. 15% completed, 10 secs elapsed. …". */
  text: string;
  phase: LoadPhase;
  elapsedSeconds: number;
}

export type CreateEngine = (modelId: string, config: MLCEngineConfig, signal?: AbortSignal) => Promise<MlcEngineLike>;

export interface LoadWebLlmOptions {
  modelId: string;
  /** Normally `planMirroredConfig(prebuiltAppConfig, …).appConfig`. */
  appConfig: AppConfig;
  onProgress?: (progress: LoadProgress) => void;
  createEngine: CreateEngine;
  /** Aborting stops the load where the engine allows (a model worker is terminated). */
  signal?: AbortSignal;
  engineOptions?: WebLlmEngineOptions;
}

/**
 * WebLLM's InitProgressReport in phases, read from its text: "Start to fetch params" and "Fetching param cache[…]"
 * are the download; "Loading model from cache[…]" (weights onto the GPU) and "Loading GPU shader modules[…]" are the
 * load; "Finish loading on …" is ready. Text it has not used before keeps the previous phase.
 */
export function progressOf(report: InitProgressReport, previous: LoadPhase): LoadProgress {
  const text = report.text;
  let phase = previous;
  if (/^finish loading/i.test(text)) phase = 'ready';
  else if (/^(start to fetch|fetching)/i.test(text)) phase = 'download';
  else if (/^loading/i.test(text)) phase = 'load';
  const fraction = phase === 'ready' ? 1 : Number.isFinite(report.progress) ? Math.min(1, Math.max(0, report.progress)) : 0;
  return { fraction, text, phase, elapsedSeconds: report.timeElapsed };
}

function cancelled(modelId: string): HearthError {
  return new HearthError('internal_error', `loading ${modelId} was cancelled`);
}

export async function loadWebLlm(options: LoadWebLlmOptions): Promise<WebLlmEngine> {
  const { modelId, appConfig, onProgress, createEngine, signal } = options;
  if (!appConfig.model_list.some((m) => m.model_id === modelId)) {
    throw new HearthError('not_found', `${modelId} cannot be loaded here: it is not on the bridge's mirror, and no download from the internet was asked for`);
  }
  if (signal?.aborted) throw cancelled(modelId);
  let phase = 'load' as LoadPhase;
  const initProgressCallback = (report: InitProgressReport) => {
    const progress = progressOf(report, phase);
    phase = progress.phase;
    onProgress?.(progress);
  };
  let engine: MlcEngineLike;
  try {
    engine = await createEngine(modelId, { appConfig, initProgressCallback }, signal);
  } catch (err) {
    if (signal?.aborted) throw cancelled(modelId);
    throw errorFromWebLlm(err, modelId);
  }
  if (phase !== 'ready') onProgress?.({ fraction: 1, text: `${modelId} is ready`, phase: 'ready', elapsedSeconds: 0 });
  return new WebLlmEngine(engine, modelId, options.engineOptions);
}

/** WebLLM in the caller's thread: the model worker (workers/model.worker.ts), which serves it through the engine port. */
export const createEngineInThisThread: CreateEngine = async (modelId, config) => {
  const { CreateMLCEngine } = await import('@mlc-ai/web-llm');
  return CreateMLCEngine(modelId, config);
};

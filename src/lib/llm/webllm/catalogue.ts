/**
 * The models WebLLM can run, as people choose them: family, size, quantisation, the GPU memory each needs and
 * whether this device can take it. Pure functions over an AppConfig (normally web-llm's `prebuiltAppConfig`,
 * which the caller passes, so this file does not pull the 6 MB library into whatever imports it).
 */
import type { AppConfig, ModelRecord } from '@mlc-ai/web-llm';
import type { WebGpuProbe } from './webgpu-probe.js';

export type ModelKind = 'llm' | 'vlm' | 'embedding';

export interface CatalogueModel {
  /** WebLLM's `model_id`, also the canonical model name this node offers, e.g. `Llama-3.2-1B-Instruct-q4f16_1-MLC`. */
  id: string;
  /** e.g. `Llama-3.2`, `Qwen2.5-Coder`, `SmolLM2`. */
  family: string;
  /** As the name says it, e.g. `1B`, `360M`, `1.6B`; null when the name does not say. */
  params: string | null;
  /** e.g. `q4f16_1`, `q4f32_1`, `q0f16`. */
  quantisation: string | null;
  /** WebLLM's estimate of GPU memory in use once loaded (weights, KV cache, activations). */
  vramMB: number;
  /** WebLLM marks it as able to run on limited devices (phones, small integrated GPUs). */
  lowResource: boolean;
  /** Needs the WebGPU `shader-f16` feature: an f16 quantisation, or listed in `required_features`. */
  needsF16: boolean;
  /** Tokens of context as configured for WebLLM; null when only the model's own config says. */
  contextWindow: number | null;
  /** Estimated download in MB from the parameter count and quantisation; null when the name gives no size. */
  downloadMB: number | null;
  /** For people: `≈ 700 MB download`, `≈ 4.1 GB download`. */
  sizeHint: string;
  kind: ModelKind;
  /** WebLLM's `buffer_size_required_bytes`: the storage-buffer binding the model needs, when it says. */
  bufferBytesRequired: number | null;
}

export interface CatalogueOptions {
  /** Vision-language models take images we cannot send yet (M04 open question 1). */
  includeVision?: boolean;
  includeEmbedding?: boolean;
}

/** Parameter counts of models whose names do not carry one (from their model cards). */
const KNOWN_PARAMS: readonly [RegExp, string][] = [
  [/^phi-2\b/i, '2.7B'],
  [/^phi-1_5\b/i, '1.3B'],
  [/^phi-3(\.5)?-mini\b/i, '3.8B'],
  [/^phi-4-mini\b/i, '3.8B'],
  [/^phi-3(\.5)?-vision\b/i, '4.2B']
];

/** Bytes per parameter on disk: 4-bit weights plus one scale per group of 32 (f16 or f32), or plain f16/f32. */
const BYTES_PER_PARAM: Readonly<Record<string, number>> = {
  q3f16: 3.5 / 8,
  q4f16: 4.5 / 8,
  q4f32: 5 / 8,
  q0f16: 2,
  q0f32: 4,
  q0bf16: 2
};

const QUANT_PATTERN = /-(q\d+b?f\d+(?:_\d+)?)(?=-|$)/;
const PARAMS_PATTERN = /-(E?\d+(?:[._]\d+)?)([BbMm])(?=-|$)/;

function kindOf(record: ModelRecord): ModelKind {
  // ModelType is a numeric enum: 0 LLM (also when absent), 1 embedding, 2 VLM.
  const type = record.model_type as number | undefined;
  return type === 1 ? 'embedding' : type === 2 ? 'vlm' : 'llm';
}

/** Splits `Qwen2.5-Coder-1.5B-Instruct-q4f16_1-MLC` into family, params and quantisation. */
export function describeModelId(id: string): { family: string; params: string | null; quantisation: string | null } {
  const quantMatch = QUANT_PATTERN.exec(id);
  const quantisation = quantMatch ? quantMatch[1] : null;
  const stem = quantMatch ? id.slice(0, quantMatch.index) : id.replace(/-MLC.*$/, '');
  const paramsMatch = PARAMS_PATTERN.exec(stem);
  if (paramsMatch) {
    const params = `${paramsMatch[1].replace('_', '.')}${paramsMatch[2].toUpperCase()}`;
    return { family: stem.slice(0, paramsMatch.index), params, quantisation };
  }
  const known = KNOWN_PARAMS.find(([pattern]) => pattern.test(stem));
  return { family: stem.replace(/-(instruct|it|chat)$/i, ''), params: known ? known[1] : null, quantisation };
}

function paramsToNumber(params: string | null): number | null {
  const m = params ? /^E?(\d+(?:\.\d+)?)([BM])$/.exec(params) : null;
  if (!m) return null;
  return Number(m[1]) * (m[2] === 'B' ? 1e9 : 1e6);
}

function estimateDownloadMB(params: string | null, quantisation: string | null): number | null {
  const count = paramsToNumber(params);
  const perParam = quantisation ? BYTES_PER_PARAM[quantisation.replace(/_\d+$/, '')] : undefined;
  if (count === null || perParam === undefined) return null;
  return Math.round((count * perParam) / (1024 * 1024));
}

export function formatMegabytes(mb: number): string {
  return mb < 1000 ? `${Math.max(10, Math.round(mb / 10) * 10)} MB` : `${(mb / 1024).toFixed(1)} GB`;
}

export function catalogueEntry(record: ModelRecord): CatalogueModel {
  const { family, params, quantisation } = describeModelId(record.model_id);
  const downloadMB = estimateDownloadMB(params, quantisation);
  return {
    id: record.model_id,
    family,
    params,
    quantisation,
    vramMB: Math.round(record.vram_required_MB ?? 0),
    lowResource: record.low_resource_required === true,
    needsF16: (record.required_features ?? []).includes('shader-f16') || /f16/.test(quantisation ?? ''),
    contextWindow: record.overrides?.context_window_size ?? null,
    downloadMB,
    sizeHint: downloadMB === null ? 'download size unknown' : `≈ ${formatMegabytes(downloadMB)} download`,
    kind: kindOf(record),
    bufferBytesRequired: record.buffer_size_required_bytes ?? null
  };
}

/** Chat models from `appConfig` (vision and embedding models only when asked), smallest GPU memory first. */
export function webLlmCatalogue(appConfig: Pick<AppConfig, 'model_list'>, options: CatalogueOptions = {}): CatalogueModel[] {
  return appConfig.model_list
    .map(catalogueEntry)
    .filter((m) => m.kind === 'llm' || (m.kind === 'vlm' && options.includeVision === true) || (m.kind === 'embedding' && options.includeEmbedding === true))
    .sort((a, b) => a.vramMB - b.vramMB || a.id.localeCompare(b.id));
}

export interface DeviceFit {
  fits: boolean;
  /** Why it will not load here; empty when it fits. */
  reasons: string[];
  /** It may load but strain the device. */
  warnings: string[];
}

/**
 * Whether `model` can load on the probed device. WebGPU does not tell how much GPU memory there is, so memory is
 * judged only from `navigator.deviceMemory` (integrated GPUs share it): a model needing more than all of it will
 * not load; one needing more than half gets a warning. The browser caps deviceMemory at 8 GB, so 8 means "8 or more"
 * and rules nothing out.
 */
export function fitsDevice(model: CatalogueModel, probe: WebGpuProbe): DeviceFit {
  const reasons: string[] = [];
  const warnings: string[] = [];
  if (!probe.usable) reasons.push(probe.reason);
  else {
    if (model.needsF16 && !probe.shaderF16) reasons.push('needs shader-f16, which this GPU lacks — choose a q4f32 model');
    if (model.bufferBytesRequired !== null && probe.maxStorageBufferBindingSize !== null && model.bufferBytesRequired > probe.maxStorageBufferBindingSize) {
      reasons.push(`needs GPU buffers of ${formatMegabytes(model.bufferBytesRequired / 2 ** 20)}, this GPU allows ${formatMegabytes(probe.maxStorageBufferBindingSize / 2 ** 20)}`);
    }
    if (probe.limitedDevice && !model.lowResource) reasons.push('too large for a device with limited GPU memory — choose a model marked for small devices');
    const memoryMB = probe.deviceMemoryGB === null ? null : probe.deviceMemoryGB * 1024;
    if (memoryMB !== null && probe.deviceMemoryGB! < 8 && model.vramMB > memoryMB) {
      reasons.push(`needs about ${formatMegabytes(model.vramMB)} of GPU memory; this device has about ${probe.deviceMemoryGB} GB in all`);
    } else if (memoryMB !== null && model.vramMB > memoryMB / 2) {
      warnings.push(`uses about ${formatMegabytes(model.vramMB)} of GPU memory, more than half of this device's memory`);
    }
  }
  return { fits: reasons.length === 0, reasons, warnings };
}

/** Small chat models that answer sensibly, best first; f16 before the f32 build of the same model. */
export const RECOMMENDED_MODEL_IDS: readonly string[] = [
  'Llama-3.2-1B-Instruct-q4f16_1-MLC',
  'Llama-3.2-1B-Instruct-q4f32_1-MLC',
  'Qwen2.5-1.5B-Instruct-q4f16_1-MLC',
  'Qwen2.5-1.5B-Instruct-q4f32_1-MLC',
  'Qwen2.5-0.5B-Instruct-q4f16_1-MLC',
  'Qwen2.5-0.5B-Instruct-q4f32_1-MLC',
  'SmolLM2-360M-Instruct-q4f16_1-MLC',
  'SmolLM2-360M-Instruct-q4f32_1-MLC'
];

/**
 * The default to suggest: the first of {@link RECOMMENDED_MODEL_IDS} in `models` that fits, else the chat model
 * needing the least GPU memory that fits, else null. Pass only the models that can be had (e.g. those on the
 * bridge's mirror) to recommend among those.
 */
export function recommendModel(models: readonly CatalogueModel[], probe: WebGpuProbe): CatalogueModel | null {
  const fitting = models.filter((m) => m.kind === 'llm' && fitsDevice(m, probe).fits);
  for (const id of RECOMMENDED_MODEL_IDS) {
    const found = fitting.find((m) => m.id === id);
    if (found) return found;
  }
  return [...fitting].sort((a, b) => a.vramMB - b.vramMB)[0] ?? null;
}

/**
 * Which transformers.js text-generation models a device can load: every repo on the bridge's mirror that is one
 * (Hugging Face layout with config.json, tokenizer.json and an ONNX decoder, and a `…ForCausalLM` architecture),
 * with the ONNX file to use; plus a short list of small models from the internet, loaded only when the person asks.
 */
import { mirrorFileUrl, mirrorHas, type FetchFn, type MirrorIndex } from '../mirror.js';
import type { TransformersDtype } from './transformers-engine.js';

/** Hugging Face, for a model the person explicitly chose to download. */
export const TRANSFORMERS_INTERNET_HOST = 'https://huggingface.co/';

/** Small instruction-tuned models published with ONNX weights for transformers.js. */
export const TRANSFORMERS_INTERNET_MODELS: readonly { id: string; dtype: TransformersDtype }[] = [
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', dtype: 'q4' },
  { id: 'onnx-community/Qwen2.5-0.5B-Instruct', dtype: 'q4' }
];

/** ONNX file names transformers.js asks for, per dtype, in the order we prefer them on a CPU (small first). */
const ONNX_FILES: readonly [TransformersDtype, string][] = [
  ['q4', 'onnx/model_q4.onnx'],
  ['q8', 'onnx/model_quantized.onnx'],
  ['fp16', 'onnx/model_fp16.onnx'],
  ['q4f16', 'onnx/model_q4f16.onnx'],
  ['fp32', 'onnx/model.onnx']
];

/** transformers.js loads no tokenizer without tokenizer_config.json. */
const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** One loadable model, in the shape the app lists device models in (client API `DeviceModelOption`). */
export interface TransformersOption {
  backend: 'transformers';
  id: string;
  dtype: TransformersDtype;
  vramMB: null;
  sizeMB: number | null;
  fits: true;
  reason: null;
  source: 'mirror' | 'internet';
}

async function isCausalLm(bridgeUrl: string, repo: string, fetchFn: FetchFn): Promise<boolean> {
  try {
    const res = await fetchFn(mirrorFileUrl(bridgeUrl, repo, 'config.json'));
    if (!res.ok) return false;
    const config = (await res.json()) as { architectures?: unknown };
    return Array.isArray(config.architectures) && config.architectures.some((a) => typeof a === 'string' && a.endsWith('ForCausalLM'));
  } catch {
    return false;
  }
}

/** The mirror's text-generation repos first, then the internet list (minus those the mirror has). */
export async function transformersOptions(index: MirrorIndex | null, bridgeUrl: string, fetchFn: FetchFn = (input, init) => fetch(input, init)): Promise<TransformersOption[]> {
  const options: TransformersOption[] = [];
  for (const repo of index?.repos ?? []) {
    const paths = new Set(repo.files.map((f) => f.path));
    if (paths.has('mlc-chat-config.json') || !REQUIRED.every((p) => paths.has(p))) continue;
    const onnx = ONNX_FILES.find(([, file]) => paths.has(file));
    if (!onnx || !mirrorHas(index, repo.id, [...REQUIRED, onnx[1]])) continue;
    if (!(await isCausalLm(bridgeUrl, repo.id, fetchFn))) continue;
    // What a load fetches: the chosen ONNX file (and its external data) and everything that is not another ONNX file.
    const bytes = repo.files
      .filter((f) => !f.path.startsWith('onnx/') || f.path === onnx[1] || f.path.startsWith(onnx[1] + '_data'))
      .reduce((sum, f) => sum + (f.size ?? 0), 0);
    options.push({ backend: 'transformers', id: repo.id, dtype: onnx[0], vramMB: null, sizeMB: Math.max(1, Math.round(bytes / 2 ** 20)), fits: true, reason: null, source: 'mirror' });
  }
  for (const model of TRANSFORMERS_INTERNET_MODELS) {
    if (options.some((o) => o.id === model.id)) continue;
    options.push({ backend: 'transformers', id: model.id, dtype: model.dtype, vramMB: null, sizeMB: null, fits: true, reason: null, source: 'internet' });
  }
  return options;
}

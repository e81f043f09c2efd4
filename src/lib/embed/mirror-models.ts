/**
 * Which repos on a model mirror (the bridge's `models.dir`, relay/README.md "Model mirror") are sentence-embedding
 * models the transformers.js embedder can load — one rule for the bridge (reading its own folder) and the app
 * (reading `/models/index.json`):
 *
 * 1. the Hugging Face layout of a transformers.js export: `config.json`, `tokenizer.json`, `tokenizer_config.json`
 *    and an ONNX file under `onnx/`, all hashed and servable (never a file that is pending, corrupt or missing);
 * 2. `config.json` names a bare encoder in `architectures` (`BertModel`, `XLMRobertaModel`, …): the headless export
 *    that sentence-transformers models are published as for feature extraction. A masked-LM or classifier head
 *    (`BertForMaskedLM`, `…ForSequenceClassification`) or a decoder (`…ForCausalLM`) is not one.
 *
 * Xenova/all-MiniLM-L6-v2, Xenova/paraphrase-multilingual-MiniLM-L12-v2 and Xenova/multilingual-e5-small all say
 * `BertModel`; so does the tiny test model (tests/support/tiny-embedding-model.ts). Models on the short list below
 * come first, in its order (multilingual first: communities here write German and English); others follow by id.
 */
import { mirrorHas, type MirrorIndex } from '../llm/mirror.js';
import type { EmbedderDtype } from './transformers-embedder.js';

/** Encoders without a task head, as their config.json `architectures` names them. */
export const SENTENCE_ENCODER_ARCHITECTURES: readonly string[] = ['BertModel', 'XLMRobertaModel', 'RobertaModel', 'MPNetModel', 'DistilBertModel', 'NomicBertModel'];

/** Known good sentence-embedding exports, best first. */
export const PREFERRED_EMBEDDING_MODELS: readonly string[] = ['Xenova/paraphrase-multilingual-MiniLM-L12-v2', 'Xenova/multilingual-e5-small', 'Xenova/all-MiniLM-L6-v2'];

/** ONNX files per dtype, in the order we prefer them (q8 is what these exports are usually run as; small and exact enough). */
const ONNX_FILES: readonly [EmbedderDtype, string][] = [
  ['q8', 'onnx/model_quantized.onnx'],
  ['fp32', 'onnx/model.onnx'],
  ['fp16', 'onnx/model_fp16.onnx'],
  ['q4', 'onnx/model_q4.onnx']
];

const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

export interface MirrorEmbeddingModel {
  /** `<org>/<repo>`: also the model's name on the mesh. */
  id: string;
  dtype: EmbedderDtype;
  /** Bytes a load reads: the chosen ONNX file and everything that is not another ONNX file. */
  bytes: number;
}

/** True when a parsed config.json names a bare encoder (rule 2). */
export function isSentenceEncoderConfig(config: unknown): boolean {
  const architectures = (config as { architectures?: unknown } | null)?.architectures;
  return Array.isArray(architectures) && architectures.length > 0 && architectures.every((a) => typeof a === 'string' && SENTENCE_ENCODER_ARCHITECTURES.includes(a));
}

/** Repos that pass rule 1, with the ONNX file to use; their config is not read yet. */
export function embeddingCandidates(index: MirrorIndex | null): MirrorEmbeddingModel[] {
  const candidates: MirrorEmbeddingModel[] = [];
  for (const repo of index?.repos ?? []) {
    const paths = new Set(repo.files.map((f) => f.path));
    if (!REQUIRED.every((p) => paths.has(p)) || paths.has('mlc-chat-config.json')) continue;
    const onnx = ONNX_FILES.find(([, file]) => paths.has(file));
    if (!onnx || !mirrorHas(index, repo.id, [...REQUIRED, onnx[1]])) continue;
    const bytes = repo.files
      .filter((f) => !f.path.startsWith('onnx/') || f.path === onnx[1] || f.path.startsWith(onnx[1] + '_data'))
      .reduce((sum, f) => sum + (f.size ?? 0), 0);
    candidates.push({ id: repo.id, dtype: onnx[0], bytes });
  }
  return candidates.sort(byPreference);
}

/**
 * The mirror's sentence-embedding models, preferred first. `readConfig` reads a repo's config.json (from the folder
 * on the bridge, over HTTP in the app); a repo whose config cannot be read or parsed is left out.
 */
export async function mirrorEmbeddingModels(index: MirrorIndex | null, readConfig: (repo: string) => Promise<unknown>): Promise<MirrorEmbeddingModel[]> {
  const found: MirrorEmbeddingModel[] = [];
  for (const candidate of embeddingCandidates(index)) {
    const config = await readConfig(candidate.id).catch(() => null);
    if (isSentenceEncoderConfig(config)) found.push(candidate);
  }
  return found;
}

function byPreference(a: MirrorEmbeddingModel, b: MirrorEmbeddingModel): number {
  const rank = (id: string) => {
    const i = PREFERRED_EMBEDDING_MODELS.indexOf(id);
    return i < 0 ? PREFERRED_EMBEDDING_MODELS.length : i;
  };
  return rank(a.id) - rank(b.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

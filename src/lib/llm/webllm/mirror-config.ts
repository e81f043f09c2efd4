/**
 * Points WebLLM at the bridge's model mirror, so LAN devices load models with no internet (DESIGN §4). The mirror's
 * index, layout and URLs are mirror.ts's; this file only decides, per model of an AppConfig, where it loads from.
 *
 * - The mirror serves the model's whole repo (every file hashed or verified, `mlc-chat-config.json` and
 *   `tensor-cache.json` among them) and its model library: the record is rewritten to load from the bridge, with
 *   WebLLM's own integrity check of config, tokenizer and library from the index's SHA-256s.
 * - Otherwise, with `allowInternet` (the person asked to download it): the record keeps its internet URLs.
 * - Otherwise the model is left out of the config, so WebLLM has no internet URL to fall back to, and reported
 *   unavailable: "not on the bridge's mirror".
 */
import type { AppConfig, ModelRecord } from '@mlc-ai/web-llm';
import { mirrorHas, mirrorHasLib, mirrorLibUrl, mirrorRepoUrl, webLlmIntegrity, type MirrorIndex } from '../mirror.js';

export const NOT_ON_MIRROR = "not on the bridge's mirror";

/** Files WebLLM 0.2.86 fetches before any weights; a repo without them is not a model it can load. */
export const WEBLLM_REQUIRED_REPO_FILES: readonly string[] = ['mlc-chat-config.json', 'tensor-cache.json'];

export type ModelSource =
  | { modelId: string; source: 'mirror'; bytes: number }
  | { modelId: string; source: 'internet'; bytes: null; detail: string }
  | { modelId: string; source: 'unavailable'; reason: typeof NOT_ON_MIRROR; detail: string };

export interface MirrorPlan {
  /** For CreateMLCEngine / CreateWebWorkerMLCEngine: only models that can be fetched under the rules above. */
  appConfig: AppConfig;
  /** One entry per model of the input config, in its order. */
  sources: ModelSource[];
}

export interface MirrorPlanOptions {
  /** The bridge's http(s) address, e.g. `https://hearth.local:8443`. */
  bridgeUrl: string;
  /** The person asked to download from the internet: models not on the mirror keep their original URLs. */
  allowInternet?: boolean;
}

/** `https://huggingface.co/mlc-ai/X` (optionally `/resolve/<branch>/…`) → `mlc-ai/X`; null for other layouts. */
export function repoOfModelUrl(modelUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(modelUrl);
  } catch {
    return null;
  }
  const parts = url.pathname.split('/').filter((p) => p !== '');
  return parts.length >= 2 ? `${parts[0]}/${parts[1]}` : null;
}

const libName = (modelLib: string) => modelLib.split(/[?#]/, 1)[0].split('/').pop() ?? modelLib;

/** Why the mirror cannot serve `record`, or null when it can. */
function whyNotMirrored(record: ModelRecord, repo: string | null, index: MirrorIndex | null): string | null {
  if (index === null) return 'the bridge has no model mirror';
  if (repo === null) return `cannot tell the repo of ${record.model}`;
  const entry = index.repos.find((r) => r.id === repo);
  if (!entry || entry.files.length === 0) return `the mirror has no files of ${repo}`;
  if (!mirrorHas(index, repo)) {
    const bad = entry.files.filter((f) => f.status !== 'hashed' && f.status !== 'verified');
    return `the mirror's copy of ${repo} is not ready: ${bad.length} of ${entry.files.length} files are not servable (${bad[0].path}: ${bad[0].status})`;
  }
  const missing = WEBLLM_REQUIRED_REPO_FILES.find((f) => !entry.files.some((file) => file.path === f));
  if (missing) return `the mirror's copy of ${repo} lacks ${missing}`;
  let hasLib: boolean;
  try {
    hasLib = mirrorHasLib(index, record.model_lib);
  } catch {
    hasLib = false;
  }
  if (!hasLib) return `the mirror has no model library ${libName(record.model_lib)}`;
  return null;
}

function mirroredBytes(index: MirrorIndex, repo: string, modelLib: string): number {
  const files = index.repos.find((r) => r.id === repo)?.files ?? [];
  const lib = index.libs.find((f) => f.path === libName(modelLib));
  return files.reduce((sum, f) => sum + (f.size ?? 0), 0) + (lib?.size ?? 0);
}

/** Rewrites `appConfig` to load from the bridge's mirror where it can; see the file comment for the rules. */
export function planMirroredConfig(appConfig: AppConfig, index: MirrorIndex | null, options: MirrorPlanOptions): MirrorPlan {
  const modelList: ModelRecord[] = [];
  const sources: ModelSource[] = [];
  for (const record of appConfig.model_list) {
    const repo = repoOfModelUrl(record.model);
    const why = whyNotMirrored(record, repo, index);
    if (why === null && repo !== null && index !== null) {
      modelList.push({
        ...record,
        model: mirrorRepoUrl(options.bridgeUrl, repo),
        model_lib: mirrorLibUrl(options.bridgeUrl, record.model_lib),
        integrity: record.integrity ?? webLlmIntegrity(index, repo, record.model_lib)
      });
      sources.push({ modelId: record.model_id, source: 'mirror', bytes: mirroredBytes(index, repo, record.model_lib) });
    } else if (options.allowInternet === true) {
      modelList.push({ ...record });
      sources.push({ modelId: record.model_id, source: 'internet', bytes: null, detail: why ?? '' });
    } else {
      sources.push({ modelId: record.model_id, source: 'unavailable', reason: NOT_ON_MIRROR, detail: why ?? '' });
    }
  }
  return { appConfig: { ...appConfig, model_list: modelList }, sources };
}

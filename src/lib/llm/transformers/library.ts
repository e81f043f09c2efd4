/**
 * Everything about getting transformers.js ready to load one model: importing it (lazily — it is over a megabyte
 * and pulls in onnxruntime), pointing its process-wide `env` at the one place files may come from, mapping its
 * progress events and its load errors onto ours.
 *
 * transformers.js keeps its settings (where to fetch, caches, the ONNX runtime's .wasm location) in one global
 * `env`. Loads therefore take turns here ({@link withLibraryEnv}): each sets `env` for its own source and keeps it
 * until its files are read. This module-level queue is the one exception to "no module-level state" — it mirrors
 * state that the library already holds globally.
 */
import type * as TransformersLibrary from '@huggingface/transformers';
import { HearthError } from '../../core/errors.js';

export type Library = typeof TransformersLibrary;

/** Where a model's files come from. */
export type ModelSource =
  /** A model mirror in the Hugging Face layout: `<baseUrl>/<org>/<repo>/resolve/<revision>/<file>` (e.g. the bridge). */
  | { baseUrl: string }
  /** A directory holding `config.json`, `tokenizer.json`, `onnx/model*.onnx` …: a filesystem path in Node. */
  | { localPath: string };

/** The ONNX runtime's own files (`ort-wasm-simd-threaded*.{mjs,wasm}`): a URL prefix ending in `/`, or both files. */
export type WasmPaths = string | { mjs: string; wasm: string };

export interface LibrarySettings {
  source: ModelSource;
  wasmPaths?: WasmPaths;
  /** Keep downloaded files in the browser's Cache API (default true where it exists). */
  browserCache?: boolean;
  /** Node only: keep downloaded files in this directory (default: no file cache). */
  cacheDir?: string;
  fetch?: typeof fetch;
}

export interface LoadProgress {
  /** The file's path inside the model, e.g. `onnx/model_q4.onnx`. */
  file: string;
  loaded: number;
  total: number;
  /** loaded / total, 0 when the size is not known yet. */
  fraction: number;
}

export async function importLibrary(): Promise<Library> {
  try {
    return await import('@huggingface/transformers');
  } catch (err) {
    throw new HearthError('internal_error', `transformers.js could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
}

let envTurn: Promise<unknown> = Promise.resolve();

/** Runs `work` with transformers.js's `env` set for `settings`; other loads wait their turn. */
export function withLibraryEnv<T>(library: Library, settings: LibrarySettings, work: () => Promise<T>): Promise<T> {
  const run = envTurn.then(() => {
    configureEnv(library, settings);
    return work();
  });
  envTurn = run.catch(() => undefined);
  return run;
}

function configureEnv(library: Library, settings: LibrarySettings): void {
  const { env } = library;
  const { source } = settings;
  if ('baseUrl' in source) {
    env.allowRemoteModels = true;
    env.allowLocalModels = false;
    env.remoteHost = source.baseUrl.endsWith('/') ? source.baseUrl : `${source.baseUrl}/`;
    env.remotePathTemplate = '{model}/resolve/{revision}/';
  } else {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
  }
  env.useBrowserCache = (settings.browserCache ?? true) && typeof caches !== 'undefined';
  // Node's default file cache lives inside node_modules; only cache where the caller says.
  env.useFSCache = settings.cacheDir !== undefined;
  if (settings.cacheDir !== undefined) env.cacheDir = settings.cacheDir;
  env.fetch = settings.fetch ?? ((input: string | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const wasm = env.backends.onnx.wasm;
  if (wasm && settings.wasmPaths !== undefined) wasm.wasmPaths = typeof settings.wasmPaths === 'string' ? settings.wasmPaths : { ...settings.wasmPaths };
}

/** The devices this runtime offers: ['cpu', …] in Node (onnxruntime-node), ['wasm'] or ['webgpu', 'wasm'] in browsers. */
export function supportedDevices(library: Library): string[] {
  return library.env.backends.onnx.getSupportedDevices?.() ?? [];
}

/** transformers.js progress events → ours (only the per-file byte counts). */
export function progressReporter(onProgress: ((progress: LoadProgress) => void) | undefined) {
  if (!onProgress) return undefined;
  return (info: { status: string; file?: string; loaded?: number; total?: number }) => {
    if (info.status !== 'progress' || info.file === undefined) return;
    const loaded = info.loaded ?? 0;
    const total = info.total ?? 0;
    onProgress({ file: info.file, loaded, total, fraction: total > 0 ? Math.min(1, loaded / total) : 0 });
  };
}

/** Checks a model name and where it is loaded from, before anything is fetched (one rule for engine and embedder). */
export function checkModelSource(model: unknown, source: ModelSource, what: 'engine' | 'embedder'): void {
  if (typeof model !== 'string' || model.trim() === '') throw new HearthError('bad_request', `a transformers.js ${what} needs a model name`);
  if (!('baseUrl' in source)) return;
  let url: URL | null = null;
  try {
    url = new URL(source.baseUrl);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new HearthError('bad_request', `the model mirror address "${source.baseUrl}" must be an absolute http(s) URL`);
  }
  if (!/^[\w.-]+\/[\w.-]+$/.test(model)) throw new HearthError('bad_request', `"${model}" is not a repository id (org/name), which a model mirror needs`);
}

/** Where files are looked for, as a person would check it: the URL prefix or the directory. */
export function describeSource(source: ModelSource, model: string, revision: string): string {
  if ('baseUrl' in source) return `${source.baseUrl.replace(/\/+$/, '')}/${model}/resolve/${revision}/`;
  return source.localPath;
}

/** A load failure as a HearthError naming the model and where its files were looked for. */
export function loadError(err: unknown, model: string, where: string): HearthError {
  if (err instanceof HearthError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  const prefix = `the model "${model}" could not be loaded from ${where}`;
  if (name === 'ModelFileNotFoundError' || /not found|could not locate|no such file|ENOENT/i.test(message)) {
    // transformers.js ends these messages with the path or URL in quotes; that is the useful part.
    const file = /"([^"]+)"\.?\s*$/.exec(message)?.[1];
    if (!file) return new HearthError('internal_error', `${prefix}: a file is missing — ${message}`);
    const hint = /\/onnx\/[^/]+\.onnx$/.test(file) ? ' (the dtype chooses this file: pick one the model has)' : '';
    return new HearthError('internal_error', `${prefix}: ${file} is missing${hint}`);
  }
  if (err instanceof TypeError && /fetch|network|load failed/i.test(message)) {
    return new HearthError('partition', `${prefix}: the server could not be reached — ${message}`);
  }
  if (/\b(5\d\d)\b|server error|bad gateway|service unavailable|gateway timeout|ECONNREFUSED|ECONNRESET|ETIMEDOUT/i.test(message)) {
    return new HearthError('partition', `${prefix}: ${message}`);
  }
  if (/Cannot read properties of undefined|undefined is not an object/.test(message)) {
    return new HearthError('internal_error', `${prefix}: its files are incomplete (tokenizer.json and tokenizer_config.json are both needed) — ${message}`);
  }
  return new HearthError('internal_error', `${prefix}: ${message}`);
}

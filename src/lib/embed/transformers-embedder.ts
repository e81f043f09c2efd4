/**
 * The embedder port over transformers.js: a sentence-embedding model (the all-MiniLM-L6-v2 layout — a BERT-like
 * encoder, `tokenizer.json`, `onnx/model*.onnx`) run in this process, mean-pooled over the real tokens (padding
 * excluded by the attention mask) and L2-normalised. The model's name — its repository id — travels with every vector.
 *
 * Files come only from the source the caller gives: a model mirror in the Hugging Face layout
 * (`<baseUrl>/<org>/<repo>/resolve/<revision>/<file>`, e.g. the bridge) or a local directory; the library's
 * process-wide settings are shared with the LLM engine (../llm/transformers/library.ts). One batch runs at a time:
 * more would share the same cores. Texts longer than the model reads are truncated by its tokenizer.
 */
import { HearthError } from '../core/errors.js';
import {
  describeSource,
  importLibrary,
  loadError,
  progressReporter,
  supportedDevices,
  withLibraryEnv,
  type Library,
  checkModelSource,
  type LoadProgress,
  type ModelSource,
  type WasmPaths
} from '../llm/transformers/library.js';
import type { Embedder } from './embedder.js';

export type EmbedderDevice = 'wasm' | 'webgpu' | 'cpu';
export type EmbedderDtype = 'fp32' | 'fp16' | 'q8' | 'q4';

/** Texts a forward pass: sentence encoders are small; 32 keeps a padded batch's memory modest. */
export const TRANSFORMERS_EMBED_MAX_BATCH = 32;

export interface TransformersEmbedderOptions {
  /** The model's name, as offered and requested; with a `baseUrl` source also its repository id (`org/repo`). */
  model: string;
  source: ModelSource;
  /** Default 'wasm'; where only 'cpu' exists (Node), 'wasm' runs on 'cpu'. */
  device?: EmbedderDevice;
  /** fp32 → model.onnx, q8 → model_quantized.onnx … Default 'q8' (what sentence-embedding exports usually ship). */
  dtype?: EmbedderDtype;
  /** Required in browsers: an app-local URL prefix for onnxruntime-web's .wasm/.mjs. */
  wasmPaths?: WasmPaths;
  revision?: string;
  browserCache?: boolean;
  /** Node only: where downloaded files are kept — required with a `baseUrl` source there. */
  cacheDir?: string;
  fetch?: typeof fetch;
  maxBatch?: number;
  onProgress?: (progress: LoadProgress) => void;
}

interface Tensor {
  data: Float32Array;
  dims: number[];
}

type Extractor = ((texts: string[], options: { pooling: 'mean'; normalize: boolean }) => Promise<Tensor>) & {
  model: { config: Record<string, unknown> };
  dispose(): Promise<unknown>;
};

export class TransformersEmbedder implements Embedder {
  readonly id: string;
  readonly model: string;
  readonly maxBatch: number;
  private readonly options: TransformersEmbedderOptions;
  private extractor: Extractor | null = null;
  private width = 0;
  private loading: Promise<void> | null = null;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(options: TransformersEmbedderOptions) {
    checkModelSource(options.model, options.source, 'embedder');
    this.options = options;
    this.model = options.model;
    this.id = `transformers:${options.model}`;
    this.maxBatch = options.maxBatch ?? TRANSFORMERS_EMBED_MAX_BATCH;
  }

  get isLoaded(): boolean {
    return this.extractor !== null;
  }

  /** The model's hidden size; 0 until loaded. */
  get dimensions(): number {
    return this.width;
  }

  /** Reads the tokenizer and the model (once; concurrent calls share one load; a failed load can be retried). */
  load(): Promise<void> {
    if (this.extractor) return Promise.resolve();
    this.loading ??= this.loadOnce().finally(() => (this.loading = null));
    return this.loading;
  }

  async dispose(): Promise<void> {
    const extractor = this.extractor;
    this.extractor = null;
    this.width = 0;
    await this.turn;
    await extractor?.dispose();
  }

  private async loadOnce(): Promise<void> {
    const { model, source } = this.options;
    const revision = this.options.revision ?? 'main';
    const where = describeSource(source, model, revision);
    const library = await importLibrary();
    const device = this.deviceFor(library);
    if (supportedDevices(library).includes('wasm') && this.options.wasmPaths === undefined) {
      throw new HearthError('bad_request', 'wasmPaths is required in a browser: without it onnxruntime-web fetches its .wasm from cdn.jsdelivr.net');
    }
    if ('baseUrl' in source && supportedDevices(library).includes('cpu') && this.options.cacheDir === undefined) {
      throw new HearthError('bad_request', 'in Node, loading a model from a URL needs cacheDir (a directory for the downloaded files)');
    }
    const id = 'localPath' in source ? source.localPath : model;
    const settings = { source, wasmPaths: this.options.wasmPaths, browserCache: this.options.browserCache, cacheDir: this.options.cacheDir, fetch: this.options.fetch };
    const extractor = await withLibraryEnv(library, settings, async () => {
      try {
        const options = { revision, device, dtype: this.options.dtype ?? 'q8', progress_callback: progressReporter(this.options.onProgress) };
        return (await library.pipeline('feature-extraction', id, options as never)) as unknown as Extractor;
      } catch (err) {
        throw loadError(err, model, where);
      }
    });
    // The probe gives the true width (hidden_size is not named alike in every config).
    const probe = await extractor(['a'], { pooling: 'mean', normalize: true });
    this.width = probe.dims[probe.dims.length - 1];
    this.extractor = extractor;
  }

  private deviceFor(library: Library): EmbedderDevice {
    const wanted = this.options.device ?? 'wasm';
    const devices = supportedDevices(library);
    if (devices.includes(wanted)) return wanted;
    if (wanted === 'wasm' && devices.includes('cpu')) return 'cpu';
    throw new HearthError('not_implemented', `the device "${wanted}" is not available here (this runtime offers ${devices.join(', ') || 'none'})`);
  }

  embed(texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
    const run = this.turn.then(() => this.embedNow(texts, signal));
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async embedNow(texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
    const extractor = this.extractor;
    if (!extractor) throw new HearthError('not_implemented', `the embedding model "${this.model}" is not loaded on this node yet`);
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.maxBatch) {
      if (signal.aborted) throw new HearthError('timeout', 'the call was cancelled before its texts were embedded');
      const part = texts.slice(start, start + this.maxBatch);
      let output: Tensor;
      try {
        output = await extractor(part, { pooling: 'mean', normalize: true });
      } catch (err) {
        throw new HearthError('internal_error', `the embedding model "${this.model}" failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      const width = output.dims[output.dims.length - 1];
      for (let row = 0; row < part.length; row++) vectors.push(Float32Array.from(output.data.subarray(row * width, (row + 1) * width)));
    }
    return vectors;
  }
}

/**
 * The engine port (M04) over transformers.js: one small ONNX model run in this process — WebAssembly (or WebGPU)
 * in a browser worker, onnxruntime-node on the CPU in Node — for devices that cannot run WebLLM.
 *
 * - Files come only from the source the caller gives (a model mirror URL or a directory); the ONNX runtime's
 *   .wasm files only from `wasmPaths`. Nothing is fetched from the internet unless one of those points there.
 * - One generation at a time; up to `maxWaiting` more wait in order, beyond that `capacity_exceeded`.
 * - Sampling is ours (sampling.ts): greedy at temperature 0, else temperature + top-p from a generator seeded by
 *   `seed` — the same seed, prompt and model give the same tokens.
 * - Cancelling returns `stopReason: 'cancelled'` at once; the model itself stops after its current forward pass
 *   (a stopping criterion checked every token), and the next generation waits until it has.
 */
import { HearthError } from '../../core/errors.js';
import type { GenerateRequest, GenerateResult, LlmEngine, StopReason, TokenChunk } from '../engine.js';
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
} from './library.js';
import { Mailbox } from '../mailbox.js';
import { promptIds, type PromptTokenizer } from './prompt.js';
import { entropySeed, pickToken, seededRandom, type PickedToken } from './sampling.js';
import { StopMatcher } from '../stop-matcher.js';
import { IncrementalDecoder } from './token-text.js';
import { Turnstile } from './turnstile.js';

export type TransformersDevice = 'wasm' | 'webgpu' | 'cpu';
export type TransformersDtype = 'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16';
export type { LoadProgress as TransformersLoadProgress, ModelSource, WasmPaths } from './library.js';

/** Generations that may wait behind the running one before callers are refused. */
export const TRANSFORMERS_MAX_WAITING = 4;

export interface TransformersEngineOptions {
  /** The model's name, offered and requested as is; with a `baseUrl` source also its repository id (`org/repo`). */
  model: string;
  source: ModelSource;
  /** Default 'wasm'. Where only 'cpu' exists (Node), 'wasm' runs on 'cpu' — the same CPU, the native runtime. */
  device?: TransformersDevice;
  /** Which ONNX file: fp32 → model.onnx, q8 → model_quantized.onnx, q4 → model_q4.onnx … Default 'q4'. */
  dtype?: TransformersDtype;
  /** Required in browsers: an app-local URL prefix for onnxruntime-web's .wasm/.mjs (the default is a CDN). */
  wasmPaths?: WasmPaths;
  /** Default 'main'. */
  revision?: string;
  /** Keep downloads in the browser's Cache API (default true where it exists), so the model loads offline later. */
  browserCache?: boolean;
  /** Node only: where downloaded files are kept — required with a `baseUrl` source there. */
  cacheDir?: string;
  fetch?: typeof fetch;
  maxWaiting?: number;
}

interface CausalLm {
  config: Record<string, unknown>;
  generation_config: Record<string, unknown> | null;
  generate(options: Record<string, unknown>): Promise<unknown>;
  forward(inputs: unknown): Promise<unknown>;
  dispose(): Promise<unknown>;
}

interface Tokenizer extends PromptTokenizer {
  decode(ids: number[], options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
}

interface Loaded {
  library: Library;
  tokenizer: Tokenizer;
  model: CausalLm;
  eosIds: ReadonlySet<number>;
  contextLength: number;
}

export class TransformersEngine implements LlmEngine {
  readonly id: string;
  /** One generation at a time (more would share the same CPU cores); a few more may wait in its queue. */
  readonly maxConcurrent = 1;
  private readonly options: TransformersEngineOptions;
  private readonly turnstile: Turnstile;
  private loaded: Loaded | null = null;
  private loading: Promise<void> | null = null;

  constructor(options: TransformersEngineOptions) {
    checkModelSource(options.model, options.source, 'engine');
    this.options = options;
    this.id = `transformers:${options.model}`;
    this.turnstile = new Turnstile(options.maxWaiting ?? TRANSFORMERS_MAX_WAITING);
  }

  get isLoaded(): boolean {
    return this.loaded !== null;
  }

  /** The model once loaded; nothing before (so the LLM service offers it only when it can answer). */
  async models(): Promise<string[]> {
    return this.loaded ? [this.options.model] : [];
  }

  /** Reads the tokenizer and the model (once; concurrent calls share one load; a failed load can be retried). */
  load(onProgress?: (progress: LoadProgress) => void): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.loading ??= this.loadOnce(onProgress).finally(() => (this.loading = null));
    return this.loading;
  }

  /** Frees the model's sessions after any running generation; `load()` may be called again. */
  async dispose(): Promise<void> {
    const release = await this.turnstile.enter(new AbortController().signal);
    try {
      const loaded = this.loaded;
      this.loaded = null;
      await loaded?.model.dispose();
    } finally {
      release?.();
    }
  }

  private async loadOnce(onProgress?: (progress: LoadProgress) => void): Promise<void> {
    const { model, source } = this.options;
    const revision = this.options.revision ?? 'main';
    const where = describeSource(source, model, revision);
    const library = await importLibrary();
    const device = this.deviceFor(library);
    if (supportedDevices(library).includes('wasm') && this.options.wasmPaths === undefined) {
      throw new HearthError('bad_request', 'wasmPaths is required in a browser: without it onnxruntime-web fetches its .wasm from cdn.jsdelivr.net');
    }
    if ('baseUrl' in source && supportedDevices(library).includes('cpu') && this.options.cacheDir === undefined) {
      // transformers.js in Node hands onnxruntime a file path, so downloaded weights must land in a file cache.
      throw new HearthError('bad_request', 'in Node, loading a model from a URL needs cacheDir (a directory for the downloaded files)');
    }
    const id = 'localPath' in source ? source.localPath : model;
    const progress_callback = progressReporter(onProgress);
    const settings = { source, wasmPaths: this.options.wasmPaths, browserCache: this.options.browserCache, cacheDir: this.options.cacheDir, fetch: this.options.fetch };
    const [tokenizer, causalLm] = await withLibraryEnv(library, settings, async () => {
      let causalLm: CausalLm | null = null;
      try {
        causalLm = (await library.AutoModelForCausalLM.from_pretrained(id, { revision, device, dtype: this.options.dtype ?? 'q4', progress_callback })) as unknown as CausalLm;
        const tokenizer = await library.AutoTokenizer.from_pretrained(id, { revision, progress_callback });
        return [tokenizer as unknown as Tokenizer, causalLm] as const;
      } catch (err) {
        await causalLm?.dispose().catch(() => undefined); // a model without its tokenizer is of no use
        throw loadError(err, model, where);
      }
    });
    yieldBetweenSteps(causalLm);
    this.loaded = { library, tokenizer, model: causalLm, eosIds: eosIdsOf(causalLm), contextLength: contextLengthOf(causalLm) };
  }

  private deviceFor(library: Library): TransformersDevice {
    const wanted = this.options.device ?? 'wasm';
    const devices = supportedDevices(library);
    if (devices.includes(wanted)) return wanted;
    if (wanted === 'wasm' && devices.includes('cpu')) return 'cpu';
    throw new HearthError('not_implemented', `the device "${wanted}" is not available here (this runtime offers ${devices.join(', ') || 'none'})`);
  }

  async *generate(request: GenerateRequest): AsyncGenerator<TokenChunk, GenerateResult, undefined> {
    const { model } = this.options;
    if (request.model !== model) throw new HearthError('not_implemented', `this engine runs only the model "${model}", not "${request.model}"`);
    const loaded = this.loaded;
    if (!loaded) throw new HearthError('not_implemented', `the model "${model}" is not loaded on this node yet`);
    if (request.messages !== undefined && request.messages.length === 0) throw new HearthError('bad_request', 'messages must not be empty');
    if (request.messages === undefined && request.prompt === undefined) throw new HearthError('bad_request', 'a generation needs messages or a prompt');

    let ids: number[];
    try {
      ({ ids } = promptIds(loaded.tokenizer, request));
    } catch (err) {
      // Chat templates raise errors for conversations they do not accept (e.g. roles that do not alternate).
      throw new HearthError('bad_request', `the chat template of "${model}" does not accept these messages: ${err instanceof Error ? err.message : String(err)}`);
    }
    const tokensIn = ids.length;
    if (tokensIn >= loaded.contextLength) {
      throw new HearthError('bad_request', `the prompt is ${tokensIn} tokens; "${model}" reads at most ${loaded.contextLength} including its answer`);
    }
    const maxNewTokens = Math.max(1, Math.min(request.maxTokens, loaded.contextLength - tokensIn));
    let tokensOut = 0;
    let sawEnd = false;
    const totals = (stopReason: StopReason): GenerateResult => ({ tokensIn, tokensOut, stopReason });

    const release = await this.turnstile.enter(request.signal);
    if (!release) return totals('cancelled');

    const mailbox = new Mailbox<TokenChunk>();
    const decoder = new IncrementalDecoder((part) => loaded.tokenizer.decode(part, { skip_special_tokens: true, clean_up_tokenization_spaces: false }), ids);
    const stops = new StopMatcher(request.stop);
    const random = seededRandom(request.seed ?? entropySeed());
    let stopNow = false;
    let picked: PickedToken | null = null;
    let pendingLogprob = 0;
    const show = (text: string) => {
      if (text === '') return;
      mailbox.put({ text, logprob: pendingLogprob });
      pendingLogprob = 0;
    };

    // The three hooks transformers.js calls each step, in this order: logits processor, streamer, stopping criterion.
    const chooseToken = (_ids: bigint[][], logits: { data: Float32Array }) => {
      picked = pickToken(logits.data, request.temperature, request.topP, random);
      logits.data.fill(-Infinity);
      logits.data[picked.index] = 0; // the library's greedy step now takes exactly our choice
      return logits;
    };
    let promptSeen = false;
    const streamer = {
      put(value: bigint[][]) {
        if (!promptSeen) {
          promptSeen = true; // the first call carries the prompt
          return;
        }
        const id = Number(value[0][0]);
        if (loaded.eosIds.has(id)) {
          sawEnd = true;
          return;
        }
        tokensOut++;
        pendingLogprob += picked?.index === id ? picked.logprob : 0;
        show(stops.push(decoder.push(id)).emit);
        if (stops.stopped) stopNow = true;
      },
      end() {}
    };
    const shouldStop = () => [stopNow || request.signal.aborted];

    loaded.model
      .generate({
        input_ids: idsTensor(loaded.library, ids),
        attention_mask: idsTensor(loaded.library, ids.map(() => 1)),
        max_new_tokens: maxNewTokens,
        do_sample: false, // sampling is chooseToken's; the library's greedy step then takes its choice
        num_beams: 1,
        num_return_sequences: 1,
        logits_processor: [chooseToken],
        stopping_criteria: [shouldStop],
        streamer
      })
      .then(
        () => {
          if (!stops.stopped) show(stops.push(decoder.flush()).emit + stops.flush());
          mailbox.end();
        },
        (err: unknown) => mailbox.fail(err)
      )
      .finally(release);

    try {
      for (;;) {
        const next = await mailbox.take(request.signal);
        if (next.kind === 'aborted') return totals('cancelled');
        if (next.kind === 'done') return totals(stops.stopped ? 'stop_sequence' : sawEnd ? 'end' : 'max_tokens');
        yield next.item;
      }
    } catch (err) {
      if (err instanceof HearthError) throw err;
      throw new HearthError('internal_error', `the model "${model}" failed while generating: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      stopNow = true; // whoever stops listening stops the model too
    }
  }
}

/**
 * transformers.js's decoding loop awaits only promises, and onnxruntime-web's WASM run completes as one task: a whole
 * answer would run without the worker handling a single message — a Stop from the page would wait for the end.
 * Before each forward pass (one token) this gives the event loop one task, so a cancel lands within a token.
 */
function yieldBetweenSteps(model: CausalLm): void {
  const forward = model.forward.bind(model);
  model.forward = async (inputs) => {
    await nextTask();
    return forward(inputs);
  };
}

/** Resolves after one macrotask (a MessageChannel message: unlike setTimeout it is not clamped to 4 ms when nested). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

function idsTensor(library: Library, values: number[]) {
  return new library.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), [1, values.length]);
}

function eosIdsOf(model: CausalLm): Set<number> {
  const ids = new Set<number>();
  for (const source of [model.generation_config, model.config]) {
    const value = source?.eos_token_id;
    for (const id of Array.isArray(value) ? value : [value]) if (typeof id === 'number') ids.add(id);
  }
  return ids;
}

function contextLengthOf(model: CausalLm): number {
  for (const key of ['max_position_embeddings', 'n_positions', 'max_sequence_length', 'seq_length']) {
    const value = model.config[key];
    if (typeof value === 'number' && value > 0) return value;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * The embedding service (M11): offers `embed.text@1.0` (contract §4.3) for every model this node's embedders have —
 * one entry with the default model in `params.model`, all in `params.models` and each one's vector length in
 * `params.dimensions` (DESIGN §3.11, like llm.*) — and answers each call with the vectors and the model that made them.
 *
 * The zero-download hashed model is always present and is the default: a call that names no model may be routed to
 * any node, and only a model every node has makes those vectors comparable wherever they were made. Embedders can be
 * added and removed while the node runs (a model the person turns on, or one found on the bridge's mirror); the offer
 * follows. The preferred model — the first sentence model added, else the hashed one — is what this node embeds new
 * library collections with; a collection keeps its model after that (rag/corpus.ts).
 */
import { HearthError, type Clock } from '../core/index.js';
import type { CapabilityRegistration } from '../bus/index.js';
import type { CallContext } from '../transport/index.js';
import type { Embedder } from './embedder.js';
import { HASHED_NGRAMS_MODEL, HashedNgramEmbedder } from './hashed-ngrams.js';
import { EMBED_TEXT_REQUEST_SCHEMA, parseEmbedTextRequest } from './requests.js';

export const EMBED_VERSION = '1.0';
/** M11 §4.3: a sensible default on a CPU. */
const MAX_CONCURRENT = 8;
/** M11 §3.3. Models are loaded before they are offered, so this bounds only the embedding itself. */
const TIMEOUT_SECONDS = 15;

export interface EmbedTextResponse {
  output: { embeddings: number[][]; dim: number };
  meta: { model: string; ms: number; served_by: string };
}

export interface LocalEmbeddings {
  model: string;
  dimensions: number;
  vectors: Float32Array[];
}

export interface EmbedServiceOptions {
  /** Further embedders (e.g. transformers.js). The hashed model is added first unless one of these has its name. */
  embedders?: readonly Embedder[];
  /** Offers a capability; returns the function that withdraws it (node.register). */
  register(registration: CapabilityRegistration): () => void;
  clock: Clock;
  selfId: string;
  log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

export class EmbedService {
  private readonly owners = new Map<string, Embedder>();
  private readonly pending: Embedder[] = [];
  private withdraw: (() => void) | null = null;
  private started = false;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: EmbedServiceOptions) {
    const given = options.embedders ?? [];
    const all: readonly Embedder[] = given.some((e) => e.model === HASHED_NGRAMS_MODEL) ? given : [new HashedNgramEmbedder(), ...given];
    for (const embedder of all) {
      if (embedder.load) this.pending.push(embedder);
      else if (!this.owners.has(embedder.model)) this.owners.set(embedder.model, embedder);
    }
  }

  /** Models this node can embed with now, the default first. */
  get models(): string[] {
    return [...this.owners.keys()];
  }

  /** The default model: the one a call without `params.model` gets. */
  get defaultModel(): string {
    return this.owners.has(HASHED_NGRAMS_MODEL) ? HASHED_NGRAMS_MODEL : this.models[0];
  }

  /** What this node embeds a new library collection with: the first other model added, else the default. */
  get preferredModel(): string {
    return this.models.find((m) => m !== HASHED_NGRAMS_MODEL) ?? this.defaultModel;
  }

  dimensionsOf(model: string): number | undefined {
    return this.owners.get(model)?.dimensions;
  }

  /**
   * Loads the embedders that need loading (one that fails is logged and left out; `start()` may be called again to
   * retry it) and offers `embed.text` for every model. Returns the models offered.
   */
  async start(): Promise<string[]> {
    for (const embedder of [...this.pending]) {
      try {
        await embedder.load?.();
      } catch (err) {
        this.options.log?.('warn', 'an embedder could not be loaded', { embedder: embedder.id, error: HearthError.from(err).message });
        continue;
      }
      this.pending.splice(this.pending.indexOf(embedder), 1);
      if (!this.owners.has(embedder.model)) this.owners.set(embedder.model, embedder);
    }
    this.started = true;
    this.offer();
    return this.models;
  }

  stop(): void {
    this.started = false;
    this.withdraw?.();
    this.withdraw = null;
  }

  /**
   * Loads `embedder` (when it needs loading) and offers its model from now on — at once when the service has started.
   * A failed load throws and changes nothing. A model already here keeps its embedder; returns false then.
   */
  async add(embedder: Embedder): Promise<boolean> {
    await embedder.load?.();
    if (this.owners.has(embedder.model)) return false;
    this.owners.set(embedder.model, embedder);
    this.changed();
    return true;
  }

  /**
   * Stops embedding with `model` (calls naming it get not_implemented from now on) and offers the rest. The hashed
   * default cannot be removed. The caller frees the embedder. Returns whether the model was here.
   */
  remove(model: string): boolean {
    if (model === HASHED_NGRAMS_MODEL) throw new HearthError('bad_request', `${HASHED_NGRAMS_MODEL} is every node's default and cannot be removed`);
    if (!this.owners.delete(model)) return false;
    this.changed();
    return true;
  }

  /** `listener` hears when the models change (added, removed). Returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    if (this.started) this.offer();
    for (const listener of [...this.listeners]) listener();
  }

  /** Embeds in this node without the bus (no count or length limits; batched by the embedder's maxBatch). */
  async embedLocal(texts: readonly string[], model?: string, signal = new AbortController().signal): Promise<LocalEmbeddings> {
    const embedder = this.embedderFor(model ?? null, 'embed.text');
    return { model: embedder.model, dimensions: embedder.dimensions, vectors: await this.run(embedder, texts, signal) };
  }

  private offer(): void {
    this.withdraw?.();
    const models = this.models;
    const dimensions = Object.fromEntries(models.map((m) => [m, this.owners.get(m)!.dimensions]));
    this.withdraw = this.options.register({
      name: 'embed.text',
      version: EMBED_VERSION,
      owner: 'embed',
      stability: 'stable',
      params: { model: this.defaultModel, models, dimensions },
      requestSchema: EMBED_TEXT_REQUEST_SCHEMA,
      maxConcurrent: MAX_CONCURRENT,
      timeoutSeconds: TIMEOUT_SECONDS,
      trustRequired: 'member',
      idempotent: true,
      handler: (body, ctx) => this.handle(body, ctx)
    });
    this.options.log?.('info', 'offering embedding models', { models });
  }

  private async handle(body: unknown, ctx: CallContext): Promise<EmbedTextResponse> {
    const request = parseEmbedTextRequest(body);
    const embedder = this.embedderFor(request.model, 'embed.text');
    const started = this.options.clock.now();
    const vectors = await this.run(embedder, request.texts, ctx.signal);
    return {
      output: { embeddings: vectors.map((v) => Array.from(v)), dim: embedder.dimensions },
      meta: { model: embedder.model, ms: this.options.clock.now() - started, served_by: this.options.selfId }
    };
  }

  private embedderFor(model: string | null, capability: string): Embedder {
    const embedder = this.owners.get(model ?? this.defaultModel);
    if (embedder) return embedder;
    throw new HearthError('not_implemented', `this node does not have the embedding model ${JSON.stringify(model)}; it has ${this.models.join(', ')}`, {
      extra: { alt_capabilities: this.models.map((m) => `${capability}@${EMBED_VERSION} model=${m}`) }
    });
  }

  private async run(embedder: Embedder, texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    const batch = Math.max(1, embedder.maxBatch);
    for (let start = 0; start < texts.length; start += batch) {
      if (signal.aborted) throw new HearthError('timeout', 'the call was cancelled before its texts were embedded');
      const part = texts.slice(start, start + batch);
      const got = await embedder.embed(part, signal);
      if (got.length !== part.length || got.some((v) => v.length !== embedder.dimensions)) {
        throw new HearthError('internal_error', `the embedder ${embedder.id} returned ${got.length} vectors for ${part.length} texts, or vectors of the wrong length`);
      }
      vectors.push(...got);
    }
    return vectors;
  }
}

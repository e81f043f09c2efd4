/**
 * Sentence-embedding models the bridge runs itself, from its own model mirror (`models.dir`): every repo there that
 * src/lib/embed/mirror-models.ts recognises is loaded with transformers.js on the CPU straight from the folder (no
 * HTTP, no internet) and handed to each community member's EmbedService, which offers it as `embed.text` next to
 * the hashed model; the member's library embeds new collections with the first one (its preferred model).
 *
 * Files are loaded only once the mirror has hashed them (and they match SHA256SUMS where one is given), so the bridge
 * never runs bytes it would refuse to serve. Hashing goes smallest first, so an embedding model is usually ready within
 * a second or two even when a large language model is still being hashed. One model is loaded once and shared by all
 * communities; a load failure is logged and the hashed model stays.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { HearthError } from '../src/lib/core/index.js';
import type { Embedder } from '../src/lib/embed/embedder.js';
import { embeddingCandidates, isSentenceEncoderConfig } from '../src/lib/embed/mirror-models.js';
import { TransformersEmbedder } from '../src/lib/embed/transformers-embedder.js';
import type { ModelMirror } from './model-mirror.js';

/** Models loaded at most: each holds its weights in memory (MiniLM q8 ~23 MB, the multilingual ones ~120 MB). */
export const MAX_MIRROR_EMBEDDERS = 2;
/** While the mirror is hashing, it is looked at again this often for models that became ready. */
const POLL_MS = 1000;

/** What a community member needs: the models loaded so far, and word of each one loaded later. */
export interface EmbedderSource {
  readonly embedders: readonly Embedder[];
  subscribe(listener: (embedder: Embedder) => void): () => void;
}

export class MirrorEmbedders implements EmbedderSource {
  private readonly loaded: TransformersEmbedder[] = [];
  private readonly tried = new Set<string>();
  private readonly listeners = new Set<(embedder: Embedder) => void>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private running: Promise<void> = Promise.resolve();

  private constructor(
    private readonly mirror: ModelMirror,
    private readonly logger: Logger
  ) {}

  /** Starts looking (in the background): models ready now are loaded first, others as hashing finishes. */
  static start(mirror: ModelMirror, logger: Logger): MirrorEmbedders {
    const embedders = new MirrorEmbedders(mirror, logger);
    embedders.running = embedders.look();
    return embedders;
  }

  get embedders(): readonly Embedder[] {
    return this.loaded;
  }

  subscribe(listener: (embedder: Embedder) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the current look has finished (tests). */
  settled(): Promise<void> {
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    for (const embedder of this.loaded.splice(0)) await embedder.dispose().catch(() => undefined);
  }

  private async look(): Promise<void> {
    const index = this.mirror.index();
    for (const candidate of embeddingCandidates(index)) {
      if (this.closed || this.loaded.length >= MAX_MIRROR_EMBEDDERS) break;
      if (this.tried.has(candidate.id)) continue;
      this.tried.add(candidate.id);
      const dir = join(this.mirror.root, ...candidate.id.split('/'));
      const config = await readFile(join(dir, 'config.json'), 'utf8')
        .then((text) => JSON.parse(text) as unknown)
        .catch(() => null);
      if (!isSentenceEncoderConfig(config)) continue;
      const embedder = new TransformersEmbedder({ model: candidate.id, source: { localPath: dir }, device: 'cpu', dtype: candidate.dtype });
      const started = Date.now();
      try {
        await embedder.load();
      } catch (err) {
        this.logger.warn({ model: candidate.id, dtype: candidate.dtype, error: HearthError.from(err).message }, 'could not load a sentence-embedding model from the mirror; the hashed model stays');
        continue;
      }
      if (this.closed) {
        await embedder.dispose();
        break;
      }
      this.loaded.push(embedder);
      this.logger.info({ model: candidate.id, dtype: candidate.dtype, dimensions: embedder.dimensions, bytes: candidate.bytes, ms: Date.now() - started }, 'loaded a sentence-embedding model from the mirror');
      for (const listener of [...this.listeners]) listener(embedder);
    }
    // Files still pending may complete a model: look again until hashing is over.
    if (!this.closed && index.state === 'hashing' && this.loaded.length < MAX_MIRROR_EMBEDDERS) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.running = this.look();
      }, POLL_MS);
      this.timer.unref();
    }
  }
}

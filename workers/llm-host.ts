/**
 * The model server this device offers to the mesh (issue 5): an OpenAI-compatible URL the person enters (a laptop's
 * own Ollama, LM Studio, llama.cpp server), kept in the device settings, offered as llm.chat / llm.complete through
 * the LLM service, and checked again every REFRESH_MS so models that appear or vanish on the server follow.
 */
import type { LlmSettings } from '../src/lib/client/api.js';
import { HearthError, systemClock } from '../src/lib/core/index.js';
import { LlmService } from '../src/lib/llm/index.js';
import { OpenAiEngine } from '../src/lib/llm/openai/index.js';
import type { HearthNode } from '../src/lib/node/index.js';

const REFRESH_MS = 30_000;

export class LlmHost {
  private service: LlmService | null = null;
  private engine: OpenAiEngine | null = null;
  private url: string | null = null;
  private problem: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly node: HearthNode,
    private readonly save: (url: string | null) => Promise<void>
  ) {}

  settings(): LlmSettings {
    return { serverUrl: this.url, models: [...(this.service?.models ?? [])], problem: this.problem };
  }

  /** Offers `url`'s models (or stops offering with null), remembers the choice, and reports what it found. */
  async set(url: string | null, remember = true): Promise<LlmSettings> {
    this.stop();
    this.url = url === null || url.trim() === '' ? null : url.trim();
    if (remember) await this.save(this.url);
    if (this.url === null) return this.settings();
    try {
      this.engine = new OpenAiEngine({ baseUrl: this.url });
    } catch (err) {
      this.problem = HearthError.from(err).message;
      return this.settings();
    }
    this.service = new LlmService({ engines: [this.engine], register: (r) => this.node.register(r), clock: systemClock, selfId: this.node.identity().nodeId });
    await this.check();
    this.timer = setInterval(() => void this.check(), REFRESH_MS);
    return this.settings();
  }

  private async check(): Promise<void> {
    if (!this.engine || !this.service) return;
    try {
      await this.engine.models(); // to say why, when it fails; the service swallows it
      this.problem = null;
    } catch (err) {
      this.problem = HearthError.from(err).message;
    }
    await this.service.refresh();
    if (!this.problem && this.service.models.length === 0) this.problem = 'the server lists no models';
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.service?.stop();
    this.service = null;
    this.engine = null;
    this.problem = null;
  }
}

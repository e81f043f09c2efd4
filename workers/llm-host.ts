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
  /** Bumped by every `set` and `stop`: work begun for an older setting stops at its next await. */
  private generation = 0;

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
    const generation = this.generation;
    this.url = url === null || url.trim() === '' ? null : url.trim();
    if (remember) await this.save(this.url);
    if (this.url === null || generation !== this.generation) return this.settings();
    try {
      this.engine = new OpenAiEngine({ baseUrl: this.url });
    } catch (err) {
      this.problem = HearthError.from(err).message;
      return this.settings();
    }
    const service = new LlmService({ engines: [this.engine], register: (r) => this.node.register(r), clock: systemClock, selfId: this.node.identity().nodeId });
    this.service = service;
    this.timer = setInterval(() => void this.check(generation, service), REFRESH_MS);
    await this.check(generation, service);
    return this.settings();
  }

  private async check(generation: number, service: LlmService): Promise<void> {
    const engine = this.engine;
    if (!engine) return;
    let problem: string | null = null;
    try {
      await engine.models(); // to say why, when it fails; the service swallows it
    } catch (err) {
      problem = HearthError.from(err).message;
    }
    if (generation !== this.generation) return; // set() or stop() ran meanwhile
    await service.refresh();
    if (generation !== this.generation) {
      service.stop(); // a refresh that finished after stop() must not leave capabilities offered
      return;
    }
    this.problem = problem ?? (service.models.length === 0 ? 'the server lists no models' : null);
  }

  stop(): void {
    this.generation++;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.service?.stop();
    this.service = null;
    this.engine = null;
    this.problem = null;
  }
}

/**
 * The models this device offers to the mesh (issue 5), through one LLM service:
 * - a model server the person enters (a laptop's own Ollama, LM Studio, llama.cpp server): an OpenAI-compatible
 *   URL kept in the device settings, checked again every REFRESH_MS so models that appear or vanish follow;
 * - a model running in this browser (WebLLM on WebGPU, or transformers.js), loaded by DeviceModel and handed in
 *   here as an engine once it is ready.
 * The service is rebuilt whenever the set of engines changes; the device's model comes first, so it is the primary.
 */
import type { LlmSettings } from '../src/lib/client/api.js';
import { HearthError, systemClock } from '../src/lib/core/index.js';
import { LlmService, type LlmEngine } from '../src/lib/llm/index.js';
import { OpenAiEngine } from '../src/lib/llm/openai/index.js';
import type { HearthNode } from '../src/lib/node/index.js';

const REFRESH_MS = 30_000;

export class LlmHost {
  private service: LlmService | null = null;
  private serverEngine: OpenAiEngine | null = null;
  private deviceEngine: LlmEngine | null = null;
  private url: string | null = null;
  private problem: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Bumped by every change of engines: work begun for an older set stops at its next await. */
  private generation = 0;

  constructor(
    private readonly node: HearthNode,
    private readonly save: (url: string | null) => Promise<void>
  ) {}

  settings(): LlmSettings {
    const deviceModels = new Set(this.deviceModels);
    return { serverUrl: this.url, models: (this.service?.models ?? []).filter((m) => !deviceModels.has(m)), problem: this.problem };
  }

  /** Models offered now, from every engine. */
  get offered(): readonly string[] {
    return this.service?.models ?? [];
  }

  private deviceModels: string[] = [];

  /** Offers `url`'s models (or stops offering with null), remembers the choice, and reports what it found. */
  async set(url: string | null, remember = true): Promise<LlmSettings> {
    this.url = url === null || url.trim() === '' ? null : url.trim();
    this.serverEngine = null;
    this.problem = null;
    if (remember) await this.save(this.url);
    if (this.url !== null) {
      try {
        this.serverEngine = new OpenAiEngine({ baseUrl: this.url });
      } catch (err) {
        this.problem = HearthError.from(err).message;
      }
    }
    await this.rebuild();
    return this.settings();
  }

  /** The model running in this browser, or null when it was unloaded. */
  async setDeviceEngine(engine: LlmEngine | null): Promise<void> {
    this.deviceEngine = engine;
    this.deviceModels = engine ? await engine.models().catch(() => []) : [];
    await this.rebuild();
  }

  /** Swaps the engines under the one service: what stays offered is never withdrawn in between. */
  private async rebuild(): Promise<void> {
    const engines = [this.deviceEngine, this.serverEngine].filter((e): e is LlmEngine => e !== null);
    this.generation++;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (engines.length === 0) {
      this.stopService();
      return;
    }
    const generation = this.generation;
    this.service ??= new LlmService({ engines, register: (r) => this.node.register(r), clock: systemClock, selfId: this.node.identity().nodeId });
    const service = this.service;
    service.setEngines(engines);
    if (this.serverEngine) this.timer = setInterval(() => void this.check(generation, service), REFRESH_MS);
    await this.check(generation, service);
  }

  private async check(generation: number, service: LlmService): Promise<void> {
    const engine = this.serverEngine;
    let problem: string | null = null;
    if (engine) {
      try {
        await engine.models(); // to say why, when it fails; the service swallows it
      } catch (err) {
        problem = HearthError.from(err).message;
      }
    }
    if (generation !== this.generation) return; // the engines changed meanwhile; that change refreshes
    await service.refresh();
    if (generation !== this.generation && this.service !== service) {
      service.stop(); // a refresh that finished after the service was stopped must not leave capabilities offered
      return;
    }
    if (engine) this.problem = problem ?? (this.settings().models.length === 0 ? 'the server lists no models' : null);
  }

  private stopService(): void {
    this.generation++;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.service?.stop();
    this.service = null;
  }

  stop(): void {
    this.stopService();
    this.serverEngine = null;
    this.deviceEngine = null;
    this.problem = null;
  }
}

/**
 * The model this browser runs (issue 5): what it could run (WebGPU probe, WebLLM catalogue, transformers.js
 * models, what the bridge's mirror holds), loading the chosen one in a model worker with progress, handing the
 * ready engine to the LLM host (which offers it to the mesh), unloading, and remembering the choice so the model
 * comes back after a reload.
 *
 * Files come from the bridge's mirror; the internet is used only for a model the person explicitly chose to
 * download from there (`allowInternet`).
 */
import type { DeviceModelBackend, DeviceModelOption, DeviceModelState } from '../src/lib/client/api.js';
import { HearthError } from '../src/lib/core/index.js';
import type { LlmEngine } from '../src/lib/llm/index.js';

const SURVEY_FAILED = 'could not check what this device can run';
/** A load that failed because the bridge was out of reach is tried again this much later. */
const RETRY_MS = 30_000;

export interface ModelChoice {
  backend: DeviceModelBackend;
  id: string;
  allowInternet: boolean;
}

/** `E`: what a loaded model is used through — an LLM engine (the default), or an embedder (embedding-model-ports.ts). */
export interface LoadedModel<E = LlmEngine> {
  engine: E;
  /** Frees the model (terminates its worker). */
  close(): void;
}

export interface LoadProgress {
  fraction: number;
  text: string;
}

/** What this device and its bridge offer, found fresh each time the card opens. */
export interface DeviceSurvey {
  webgpu: DeviceModelState['webgpu'];
  mirror: DeviceModelState['mirror'];
  options: DeviceModelOption[];
}

export interface DeviceModelPorts<E = LlmEngine> {
  survey(): Promise<DeviceSurvey>;
  /** Aborting `signal` stops the load (its worker is terminated). */
  load(choice: ModelChoice, onProgress: (progress: LoadProgress) => void, signal: AbortSignal): Promise<LoadedModel<E>>;
  /** Hands the engine to the LLM host (null: stop offering). */
  offer(engine: E | null): Promise<void>;
  save(choice: ModelChoice | null): Promise<void>;
}

export class DeviceModel<E = LlmEngine> {
  private survey: DeviceSurvey = { webgpu: { usable: false, reason: 'not checked yet', adapter: null }, mirror: 'none', options: [] };
  private chosen: ModelChoice | null = null;
  private loaded: LoadedModel<E> | null = null;
  private phase: DeviceModelState['phase'] = 'idle';
  private progress: LoadProgress | null = null;
  private problem: string | null = null;
  private readonly listeners = new Set<(state: DeviceModelState) => void>();
  /** Bumped by every load and unload: a load overtaken by another stops at its next await. */
  private generation = 0;
  private loading: AbortController | null = null;
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly ports: DeviceModelPorts<E>) {}

  state(): DeviceModelState {
    return {
      ...this.survey,
      chosen: this.chosen ? { backend: this.chosen.backend, id: this.chosen.id } : null,
      phase: this.phase,
      progress: this.progress,
      problem: this.problem
    };
  }

  /** Returns the function that unsubscribes. */
  subscribe(listener: (state: DeviceModelState) => void): () => void {
    this.listeners.add(listener);
    listener(this.state());
    return () => this.listeners.delete(listener);
  }

  async refresh(): Promise<DeviceModelState> {
    try {
      this.survey = await this.ports.survey();
      if (this.problem?.startsWith(SURVEY_FAILED)) this.problem = null;
    } catch (err) {
      this.problem = `${SURVEY_FAILED}: ${HearthError.from(err).message}`;
    }
    this.changed();
    return this.state();
  }

  async load(choice: ModelChoice, remember = true): Promise<DeviceModelState> {
    await this.release();
    clearTimeout(this.retry);
    const generation = ++this.generation;
    this.loading?.abort();
    const loading = (this.loading = new AbortController());
    this.chosen = choice;
    this.phase = 'loading';
    this.progress = { fraction: 0, text: 'starting' };
    this.problem = null;
    this.changed();
    let loaded: LoadedModel<E>;
    try {
      if (remember) await this.ports.save(choice);
      if (generation !== this.generation) return this.state(); // unloaded or replaced meanwhile
      loaded = await this.ports.load(
        choice,
        (progress) => {
          if (generation !== this.generation) return;
          this.progress = progress;
          this.changed();
        },
        loading.signal
      );
    } catch (err) {
      const error = HearthError.from(err);
      if (generation !== this.generation) return this.state();
      await this.fail(error.message);
      // The bridge (and its mirror) was out of reach: try again later without being asked.
      if (error.code === 'partition') this.retry = setTimeout(() => void (generation === this.generation && this.load(choice, false)), RETRY_MS);
      return this.state();
    }
    if (generation !== this.generation) {
      loaded.close(); // unloaded or replaced while loading
      return this.state();
    }
    this.loaded = loaded;
    try {
      await this.ports.offer(loaded.engine);
    } catch (err) {
      if (generation === this.generation) await this.fail(HearthError.from(err).message);
      return this.state();
    }
    if (generation !== this.generation) return this.state(); // unloaded or replaced while being offered
    this.phase = 'ready';
    this.progress = { fraction: 1, text: 'ready' };
    this.changed();
    return this.state();
  }

  /** Loads the remembered choice at start, unless the person chose something meanwhile. */
  async restore(choice: ModelChoice): Promise<void> {
    if (this.chosen === null && this.generation === 0) await this.load(choice, false);
  }

  private async fail(problem: string): Promise<void> {
    await this.release().catch(() => undefined);
    this.phase = 'error';
    this.problem = problem;
    this.progress = null;
    this.changed();
  }

  async unload(): Promise<DeviceModelState> {
    this.generation++;
    clearTimeout(this.retry);
    this.loading?.abort(); // a download in progress stops too
    this.loading = null;
    await this.release();
    this.chosen = null;
    this.phase = 'idle';
    this.progress = null;
    this.problem = null;
    await this.ports.save(null);
    this.changed();
    return this.state();
  }

  private async release(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = null;
    if (!loaded) return;
    await this.ports.offer(null);
    loaded.close();
  }

  private changed(): void {
    const state = this.state();
    for (const listener of this.listeners) listener(state);
  }
}

/**
 * DeviceModel's ports in the browser: the survey (WebGPU probe, WebLLM catalogue, the bridge's mirror, transformers.js
 * models the mirror holds) and loading a model in a fresh model worker (workers/model.worker.ts), used through the
 * engine port.
 */
import * as Comlink from 'comlink';
import type { DeviceModelOption } from '../src/lib/client/api.js';
import { HearthError } from '../src/lib/core/index.js';
import type { LlmEngine } from '../src/lib/llm/index.js';
import { mirrorRemoteHost, readMirrorIndex, type MirrorIndex } from '../src/lib/llm/mirror.js';
import { PortEngine, type EnginePortApi } from '../src/lib/llm/port/index.js';
import { TRANSFORMERS_INTERNET_HOST, transformersOptions } from '../src/lib/llm/transformers/choices.js';
import { PREBUILT_APP_CONFIG } from '../src/lib/llm/webllm/prebuilt.js';
import { fitsDevice, RECOMMENDED_MODEL_IDS, webLlmCatalogue } from '../src/lib/llm/webllm/catalogue.js';
import { NOT_ON_MIRROR, planMirroredConfig } from '../src/lib/llm/webllm/mirror-config.js';
import { probeWebGpu, type NavigatorLike } from '../src/lib/llm/webllm/webgpu-probe.js';
import type { DeviceModelPorts, DeviceSurvey, LoadedModel, LoadProgress, ModelChoice } from './device-model.js';
import type { LoadOutcome, ModelWorkerApi } from './model-worker-api.js';
import { loadInModelWorker } from './model-worker-spawn.js';

export interface DeviceModelPortsOptions {
  bridgeUrl: string;
  offer(engine: LlmEngine | null): Promise<void>;
  save(choice: ModelChoice | null): Promise<void>;
}

export async function mirrorIndex(bridgeUrl: string): Promise<{ index: MirrorIndex | null; state: DeviceSurvey['mirror'] }> {
  try {
    const index = await readMirrorIndex(bridgeUrl);
    return { index, state: index ? 'available' : 'none' };
  } catch {
    return { index: null, state: 'unreachable' };
  }
}

/** WebLLM models worth listing: those on the mirror, and the recommended ones when this device has a usable GPU. */
function webLlmOptions(index: MirrorIndex | null, bridgeUrl: string, probe: Awaited<ReturnType<typeof probeWebGpu>>): DeviceModelOption[] {
  const plan = planMirroredConfig(PREBUILT_APP_CONFIG, index, { bridgeUrl });
  const mirrored = new Map(plan.sources.filter((s) => s.source === 'mirror').map((s) => [s.modelId, s]));
  return webLlmCatalogue(PREBUILT_APP_CONFIG)
    .filter((model) => mirrored.has(model.id) || (probe.usable && RECOMMENDED_MODEL_IDS.includes(model.id)))
    .map((model) => {
      const fit = fitsDevice(model, probe);
      const source = mirrored.get(model.id);
      return {
        backend: 'webllm' as const,
        id: model.id,
        vramMB: model.vramMB,
        sizeMB: source && source.source === 'mirror' ? Math.round(source.bytes / 2 ** 20) : model.downloadMB,
        fits: fit.fits,
        reason: fit.fits ? (fit.warnings[0] ?? null) : fit.reasons.join('; '),
        source: source ? ('mirror' as const) : ('internet' as const)
      };
    });
}

export function deviceModelPorts(options: DeviceModelPortsOptions): DeviceModelPorts {
  const { bridgeUrl } = options;
  return {
    async survey() {
      const [probe, mirror] = await Promise.all([probeWebGpu(navigator as unknown as NavigatorLike), mirrorIndex(bridgeUrl)]);
      const transformers = await transformersOptions(mirror.index, bridgeUrl);
      return {
        webgpu: { usable: probe.usable, reason: probe.usable ? null : probe.reason, adapter: probe.usable ? [probe.vendor, probe.architecture].filter(Boolean).join(' ') || null : null },
        mirror: mirror.state,
        options: [...webLlmOptions(mirror.index, bridgeUrl, probe), ...transformers]
      };
    },

    async load(choice, onProgress, signal) {
      return loadInModelWorker(
        `model ${choice.id}`,
        signal,
        (remote) => loadIn(remote, choice, bridgeUrl, Comlink.proxy((p: LoadProgress) => onProgress(p))),
        (outcome, { worker, remote, stop }) => {
          if (!outcome.ok) throw HearthError.fromWire(outcome.error);
          const engine = new PortEngine({ remote: remote as unknown as EnginePortApi, id: outcome.id, maxConcurrent: outcome.maxConcurrent, proxy: Comlink.proxy });
          worker.addEventListener('error', () => engine.close(new HearthError('internal_error', `the model worker running ${choice.id} stopped`)));
          const close = () => {
            engine.close(new HearthError('partition', `${choice.id} was stopped on the device that ran it`));
            stop();
          };
          return { engine, close } satisfies LoadedModel;
        }
      );
    },

    offer: options.offer,
    save: options.save
  };
}

const notOnMirror = (id: string) => new HearthError('not_found', `${id} is ${NOT_ON_MIRROR}; choose "Download and run" to fetch it from the internet`);

async function loadIn(remote: Comlink.Remote<ModelWorkerApi>, choice: ModelChoice, bridgeUrl: string, progress: (p: LoadProgress) => void): Promise<LoadOutcome> {
  const { index, state } = await mirrorIndex(bridgeUrl);
  if (state === 'unreachable' && !choice.allowInternet) {
    throw new HearthError('partition', `the bridge's model mirror could not be reached, so ${choice.id} cannot be loaded now; it is tried again when the bridge is back`);
  }
  if (choice.backend === 'webllm') {
    const plan = planMirroredConfig(PREBUILT_APP_CONFIG, index, { bridgeUrl, allowInternet: choice.allowInternet });
    if (!plan.appConfig.model_list.some((m) => m.model_id === choice.id)) {
      throw notOnMirror(choice.id);
    }
    return remote.loadWebLlm(choice.id, plan.appConfig, progress);
  }
  const onMirror = (await transformersOptions(index, bridgeUrl)).find((o) => o.id === choice.id && o.source === 'mirror');
  const dtype = onMirror?.dtype ?? 'q4';
  if (!onMirror && !choice.allowInternet) {
    throw notOnMirror(choice.id);
  }
  return remote.loadTransformers({ model: choice.id, baseUrl: onMirror ? mirrorRemoteHost(bridgeUrl) : TRANSFORMERS_INTERNET_HOST, dtype }, progress);
}

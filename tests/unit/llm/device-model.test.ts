/**
 * The device's own model (workers/device-model.ts) and which transformers.js models the mirror offers
 * (src/lib/llm/transformers/choices.ts). The model worker is the edge here: loading is scripted.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceModelState } from '../../../src/lib/client/api.js';
import { HearthError } from '../../../src/lib/core/errors.js';
import type { LlmEngine } from '../../../src/lib/llm/engine.js';
import { transformersOptions, TRANSFORMERS_INTERNET_MODELS } from '../../../src/lib/llm/transformers/choices.js';
import { DeviceModel, type DeviceModelPorts, type LoadProgress, type ModelChoice } from '../../../workers/device-model.js';
import { mirrorFile, mirrorIndex } from '../../support/mirror-index.js';

const engine = (id: string): LlmEngine => ({
  id,
  models: async () => [id],
  generate: async function* () {
    return { tokensIn: 0, tokensOut: 0, stopReason: 'end' as const };
  }
});

function ports(load: DeviceModelPorts['load']) {
  const offered: (string | null)[] = [];
  const saved: (ModelChoice | null)[] = [];
  const closed: string[] = [];
  const value: DeviceModelPorts = {
    survey: async () => ({ webgpu: { usable: false, reason: 'no GPU adapter', adapter: null }, mirror: 'available', options: [] }),
    load: async (choice, onProgress, signal) => {
      const loaded = await load(choice, onProgress, signal);
      return { engine: loaded.engine, close: () => closed.push(choice.id) };
    },
    offer: async (e) => void offered.push(e ? e.id : null),
    save: async (c) => void saved.push(c)
  };
  return { value, offered, saved, closed };
}

const choice: ModelChoice = { backend: 'transformers', id: 'hearth/tiny', allowInternet: false };

describe('the model this device runs', () => {
  it('loads with progress, offers the engine, remembers the choice; unloading withdraws and frees it', async () => {
    const p = ports(async (c, onProgress) => {
      onProgress({ fraction: 0.5, text: 'onnx/model_q4.onnx' });
      return { engine: engine(c.id), close() {} };
    });
    const model = new DeviceModel(p.value);
    const seen: DeviceModelState[] = [];
    model.subscribe((s) => seen.push(s));
    const ready = await model.load(choice);
    expect(ready.phase).toBe('ready');
    expect(seen.map((s) => s.phase)).toEqual(['idle', 'loading', 'loading', 'ready']);
    expect(seen[2].progress).toEqual({ fraction: 0.5, text: 'onnx/model_q4.onnx' });
    expect(p.offered).toEqual(['hearth/tiny']);
    expect(p.saved).toEqual([choice]);

    const idle = await model.unload();
    expect(idle.phase).toBe('idle');
    expect(idle.chosen).toBeNull();
    expect(p.offered).toEqual(['hearth/tiny', null]);
    expect(p.closed).toEqual(['hearth/tiny']);
    expect(p.saved.at(-1)).toBeNull();
  });

  it('the remembered model is not loaded over a choice the person made while the page was starting', async () => {
    const p = ports(async (c) => ({ engine: engine(c.id), close() {} }));
    const model = new DeviceModel(p.value);
    await model.load({ ...choice, id: 'hearth/chosen' });
    await model.restore({ ...choice, id: 'hearth/remembered' });
    expect(model.state().chosen?.id).toBe('hearth/chosen');
    expect(p.offered).toEqual(['hearth/chosen']);
  });

  it('a model that cannot be offered ends in an error and is freed, not stuck loading', async () => {
    const p = ports(async (c) => ({ engine: engine(c.id), close() {} }));
    p.value.offer = async (e) => {
      if (e) throw new HearthError('internal_error', 'the bus refused the registration');
    };
    const state = await new DeviceModel(p.value).load(choice);
    expect(state.phase).toBe('error');
    expect(state.problem).toContain('refused');
    expect(p.closed).toEqual(['hearth/tiny']);
  });

  it('a failed load says why and offers nothing', async () => {
    const p = ports(async () => {
      throw new HearthError('internal_error', 'hearth/tiny: …/resolve/main/config.json is missing');
    });
    const state = await new DeviceModel(p.value).load(choice);
    expect(state.phase).toBe('error');
    expect(state.problem).toContain('config.json is missing');
    expect(p.offered).toEqual([]);
  });

  it('unloading while a download runs aborts it, and a load that finishes anyway is closed, not offered', async () => {
    let release: () => void = () => undefined;
    let aborted = false;
    let entered: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (entered = resolve));
    const p = ports(async (c, _onProgress: (progress: LoadProgress) => void, signal) => {
      signal.addEventListener('abort', () => (aborted = true));
      entered();
      await new Promise<void>((resolve) => (release = resolve));
      return { engine: engine(c.id), close() {} };
    });
    const model = new DeviceModel(p.value);
    const loading = model.load(choice);
    await started;
    await model.unload();
    expect(aborted).toBe(true);
    release();
    await loading;
    expect(p.offered).toEqual([]);
    expect(p.closed).toEqual(['hearth/tiny']);
    expect(model.state().phase).toBe('idle');
  });
});

const file = mirrorFile;
const index = mirrorIndex;

describe('transformers.js models on the mirror', () => {
  const configs: Record<string, unknown> = {
    'hearth/tiny-llama': { architectures: ['LlamaForCausalLM'] },
    'Xenova/all-MiniLM-L6-v2': { architectures: ['BertModel'] }
  };
  const fetchFn = async (url: string) => {
    const repo = Object.keys(configs).find((r) => url.includes(`/models/${r}/resolve/main/config.json`));
    return repo ? new Response(JSON.stringify(configs[repo])) : new Response('', { status: 404 });
  };

  it('lists causal language models with the smallest ONNX file, not embedders or WebLLM repos, then the internet list', async () => {
    const mirror = index([
      { id: 'hearth/tiny-llama', files: [file('config.json'), file('tokenizer.json'), file('tokenizer_config.json'), file('onnx/model.onnx', 4 << 20), file('onnx/model_q4.onnx', 1 << 20)] },
      { id: 'Xenova/all-MiniLM-L6-v2', files: [file('config.json'), file('tokenizer.json'), file('onnx/model_quantized.onnx')] },
      { id: 'mlc-ai/Llama-3.2-1B-Instruct-q4f16_1-MLC', files: [file('mlc-chat-config.json'), file('tensor-cache.json'), file('config.json'), file('tokenizer.json')] }
    ]);
    const options = await transformersOptions(mirror, 'http://bridge.local:8080', fetchFn);
    expect(options[0]).toMatchObject({ id: 'hearth/tiny-llama', dtype: 'q4', source: 'mirror', sizeMB: 1 });
    expect(options.slice(1).map((o) => [o.id, o.source])).toEqual(TRANSFORMERS_INTERNET_MODELS.map((m) => [m.id, 'internet']));
  });

  it('a repo whose files are not all servable yet is not offered from the mirror', async () => {
    const mirror = index([{ id: 'hearth/tiny-llama', files: [file('config.json'), file('tokenizer_config.json'), { ...file('tokenizer.json'), status: 'pending', sha256: null }, file('onnx/model_q4.onnx')] }]);
    const options = await transformersOptions(mirror, 'http://bridge.local:8080', fetchFn);
    expect(options.filter((o) => o.source === 'mirror')).toEqual([]);
  });
});

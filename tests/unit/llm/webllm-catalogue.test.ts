/**
 * What this device can run with WebLLM, and where the files come from: the WebGPU probe (driven through a fake
 * `navigator`), the catalogue built from web-llm's real prebuiltAppConfig, the device fit and recommended default,
 * and the AppConfig rewritten to load from the bridge's mirror.
 */
import { modelVersion, prebuiltAppConfig, type AppConfig } from '@mlc-ai/web-llm';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { MirrorFile, MirrorIndex } from '../../../src/lib/llm/mirror.js';
import { describeModelId, fitsDevice, recommendModel, webLlmCatalogue, type CatalogueModel } from '../../../src/lib/llm/webllm/catalogue.js';
import { NOT_ON_MIRROR, planMirroredConfig, repoOfModelUrl } from '../../../src/lib/llm/webllm/mirror-config.js';
import { PREBUILT_APP_CONFIG, PREBUILT_MODEL_VERSION, PREBUILT_WEBLLM_VERSION } from '../../../src/lib/llm/webllm/prebuilt.js';
import { probeWebGpu, type GpuAdapterLike, type NavigatorLike, type WebGpuProbe } from '../../../src/lib/llm/webllm/webgpu-probe.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function adapter(over: { features?: string[]; limits?: Partial<GpuAdapterLike['limits']>; info?: GpuAdapterLike['info']; isFallbackAdapter?: boolean; requestAdapterInfo?: GpuAdapterLike['requestAdapterInfo'] } = {}): GpuAdapterLike {
  const features = new Set(over.features ?? ['shader-f16', 'subgroups']);
  return {
    features,
    limits: { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB, maxComputeWorkgroupStorageSize: 32768, maxStorageBuffersPerShaderStage: 10, ...over.limits },
    info: over.info,
    isFallbackAdapter: over.isFallbackAdapter,
    requestAdapterInfo: over.requestAdapterInfo
  };
}

const nav = (found: GpuAdapterLike | null, deviceMemory?: number): NavigatorLike => ({ gpu: { requestAdapter: async () => found }, deviceMemory });

describe('probeWebGpu', () => {
  it('no navigator.gpu: this browser has no WebGPU', async () => {
    const probe = await probeWebGpu({});
    expect(probe).toMatchObject({ usable: false, reason: 'this browser has no WebGPU', features: [], shaderF16: false });
    expect((await probeWebGpu(undefined)).usable).toBe(false);
  });

  it('no adapter: not usable, says so', async () => {
    const probe = await probeWebGpu(nav(null));
    expect(probe.usable).toBe(false);
    expect(probe.reason).toMatch(/^no GPU adapter/);
  });

  it('requestAdapter throwing: not usable, with the error', async () => {
    const probe = await probeWebGpu({ gpu: { requestAdapter: async () => Promise.reject(new Error('GPU process crashed')) } });
    expect(probe).toMatchObject({ usable: false, reason: 'WebGPU failed to start: GPU process crashed' });
  });

  it('a fallback (software) adapter: no GPU adapter (software-only)', async () => {
    const probe = await probeWebGpu(nav(adapter({ info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true } })));
    expect(probe).toMatchObject({ usable: false, reason: 'no GPU adapter (software-only)', isFallbackAdapter: true, vendor: 'google' });
  });

  it('the older isFallbackAdapter on the adapter itself is read too', async () => {
    expect((await probeWebGpu(nav(adapter({ isFallbackAdapter: true })))).reason).toBe('no GPU adapter (software-only)');
  });

  it('no shader-f16: usable, only f32 models', async () => {
    const probe = await probeWebGpu(nav(adapter({ features: [], info: { vendor: 'intel', architecture: 'gen-12lp' } })));
    expect(probe).toMatchObject({ usable: true, reason: 'adapter lacks shader-f16 — only f32 models', shaderF16: false, vendor: 'intel', architecture: 'gen-12lp' });
  });

  it('a capable GPU: usable, with features, limits and adapter info', async () => {
    const probe = await probeWebGpu(nav(adapter({ info: { vendor: 'nvidia', architecture: 'ampere' } }), 8));
    expect(probe).toEqual({
      usable: true,
      reason: 'WebGPU on nvidia ampere',
      features: ['shader-f16', 'subgroups'],
      shaderF16: true,
      maxBufferSize: 4 * GiB,
      maxStorageBufferBindingSize: 2 * GiB,
      limitedDevice: false,
      vendor: 'nvidia',
      architecture: 'ampere',
      isFallbackAdapter: false,
      deviceMemoryGB: 8
    });
  });

  it('reads adapter info from requestAdapterInfo() in older browsers', async () => {
    const probe = await probeWebGpu(nav(adapter({ requestAdapterInfo: async () => ({ vendor: 'apple', architecture: 'common-3' }) })));
    expect(probe).toMatchObject({ vendor: 'apple', architecture: 'common-3' });
  });

  it('limits below what web-llm needs: not usable, names the limit', async () => {
    const probe = await probeWebGpu(nav(adapter({ limits: { maxStorageBufferBindingSize: 64 * MiB } })));
    expect(probe.usable).toBe(false);
    expect(probe.reason).toMatch(/maxStorageBufferBindingSize is 64 MB, WebLLM needs 128 MB/);
  });

  it('a small binding size marks a limited device (phones, small iGPUs)', async () => {
    const probe = await probeWebGpu(nav(adapter({ limits: { maxStorageBufferBindingSize: 128 * MiB } })));
    expect(probe).toMatchObject({ usable: true, limitedDevice: true });
    expect(probe.reason).toMatch(/small models only/);
  });
});

const probe = (over: Partial<WebGpuProbe> = {}): WebGpuProbe => ({
  usable: true,
  reason: 'WebGPU on test',
  features: ['shader-f16'],
  shaderF16: true,
  maxBufferSize: 4 * GiB,
  maxStorageBufferBindingSize: 2 * GiB,
  limitedDevice: false,
  vendor: 'test',
  architecture: null,
  isFallbackAdapter: false,
  deviceMemoryGB: null,
  ...over
});

describe('the prebuiltAppConfig snapshot', () => {
  it('is exactly the installed web-llm\'s (regenerate it after an upgrade: see prebuilt.ts)', () => {
    const installed = createRequire(import.meta.url)('@mlc-ai/web-llm/package.json') as { version: string };
    expect(PREBUILT_WEBLLM_VERSION).toBe(installed.version);
    expect(PREBUILT_MODEL_VERSION).toBe(modelVersion);
    expect(PREBUILT_APP_CONFIG).toEqual(JSON.parse(JSON.stringify(prebuiltAppConfig)));
  });
});

describe('webLlmCatalogue', () => {
  const catalogue = webLlmCatalogue(prebuiltAppConfig);
  const byId = (id: string) => catalogue.find((m) => m.id === id)!;

  it('lists chat models only, sorted by the GPU memory they need', () => {
    expect(catalogue.length).toBeGreaterThan(50);
    expect(catalogue.every((m) => m.kind === 'llm')).toBe(true);
    expect(catalogue.some((m) => m.id.includes('embed'))).toBe(false);
    expect(catalogue.some((m) => m.id.includes('vision'))).toBe(false);
    for (let i = 1; i < catalogue.length; i++) expect(catalogue[i].vramMB).toBeGreaterThanOrEqual(catalogue[i - 1].vramMB);
  });

  it('includes vision and embedding models only when asked', () => {
    const all = webLlmCatalogue(prebuiltAppConfig, { includeVision: true, includeEmbedding: true });
    expect(all.some((m) => m.kind === 'vlm')).toBe(true);
    expect(all.some((m) => m.kind === 'embedding')).toBe(true);
  });

  it('describes each model: family, params, quantisation, VRAM, f16, context, size', () => {
    expect(byId('Llama-3.2-1B-Instruct-q4f16_1-MLC')).toMatchObject({
      family: 'Llama-3.2',
      params: '1B',
      quantisation: 'q4f16_1',
      vramMB: 879,
      lowResource: true,
      needsF16: true, // an f16 quantisation, although web-llm lists no required_features for it
      contextWindow: 4096,
      kind: 'llm'
    });
    expect(byId('Llama-3.2-1B-Instruct-q4f32_1-MLC')).toMatchObject({ needsF16: false, quantisation: 'q4f32_1' });
    expect(byId('Llama-3.1-8B-Instruct-q4f16_1-MLC-1k').contextWindow).toBe(1024);
    expect(byId('Llama-3.2-1B-Instruct-q4f16_1-MLC').sizeHint).toMatch(/^≈ \d+ MB download$/);
    expect(byId('Llama-3.1-8B-Instruct-q4f16_1-MLC').sizeHint).toMatch(/^≈ \d\.\d GB download$/);
  });

  it('reads names of every shape', () => {
    expect(describeModelId('Qwen2.5-Coder-1.5B-Instruct-q4f16_1-MLC')).toEqual({ family: 'Qwen2.5-Coder', params: '1.5B', quantisation: 'q4f16_1' });
    expect(describeModelId('SmolLM2-360M-Instruct-q0f32-MLC')).toEqual({ family: 'SmolLM2', params: '360M', quantisation: 'q0f32' });
    expect(describeModelId('stablelm-2-zephyr-1_6b-q4f16_1-MLC-1k')).toEqual({ family: 'stablelm-2-zephyr', params: '1.6B', quantisation: 'q4f16_1' });
    expect(describeModelId('Phi-3.5-mini-instruct-q4f16_1-MLC')).toEqual({ family: 'Phi-3.5-mini', params: '3.8B', quantisation: 'q4f16_1' });
    expect(describeModelId('gemma-2-2b-it-q4f32_1-MLC')).toEqual({ family: 'gemma-2', params: '2B', quantisation: 'q4f32_1' });
  });
});

describe('fitsDevice and recommendModel', () => {
  const catalogue = webLlmCatalogue(prebuiltAppConfig);
  const byId = (id: string) => catalogue.find((m) => m.id === id)!;

  it('an f16 model does not fit a GPU without shader-f16, its f32 twin does', () => {
    const noF16 = probe({ shaderF16: false, features: [] });
    const fit = fitsDevice(byId('Llama-3.2-1B-Instruct-q4f16_1-MLC'), noF16);
    expect(fit.fits).toBe(false);
    expect(fit.reasons.join()).toMatch(/shader-f16/);
    expect(fitsDevice(byId('Llama-3.2-1B-Instruct-q4f32_1-MLC'), noF16)).toEqual({ fits: true, reasons: [], warnings: [] });
  });

  it('nothing fits without usable WebGPU, and the probe says why', () => {
    const fit = fitsDevice(byId('Llama-3.2-1B-Instruct-q4f16_1-MLC'), probe({ usable: false, reason: 'this browser has no WebGPU' }));
    expect(fit).toEqual({ fits: false, reasons: ['this browser has no WebGPU'], warnings: [] });
  });

  it('a limited device takes only low-resource models', () => {
    const limited = probe({ limitedDevice: true, maxStorageBufferBindingSize: 128 * MiB });
    expect(fitsDevice(byId('Llama-3.1-8B-Instruct-q4f16_1-MLC'), limited).fits).toBe(false);
    expect(fitsDevice(byId('Llama-3.2-1B-Instruct-q4f16_1-MLC'), limited).fits).toBe(true);
  });

  it("a model's buffer size beyond the GPU's binding limit does not fit", () => {
    const gemma = byId('gemma-2b-it-q4f32_1-MLC');
    expect(gemma.bufferBytesRequired).toBe(262144000);
    expect(fitsDevice(gemma, probe({ maxStorageBufferBindingSize: 128 * MiB })).reasons.join()).toMatch(/GPU buffers/);
  });

  it('judges memory by navigator.deviceMemory where the browser tells', () => {
    const eightB = byId('Llama-3.1-8B-Instruct-q4f16_1-MLC'); // ~5 GB
    expect(fitsDevice(eightB, probe({ deviceMemoryGB: 4 })).reasons.join()).toMatch(/GPU memory; this device has about 4 GB/);
    const capped = fitsDevice(eightB, probe({ deviceMemoryGB: 8 })); // 8 means "8 or more"
    expect(capped.fits).toBe(true);
    expect(capped.warnings.join()).toMatch(/more than half/);
  });

  it('recommends a small Llama: f16 where the GPU has it, f32 where not', () => {
    expect(recommendModel(catalogue, probe())?.id).toBe('Llama-3.2-1B-Instruct-q4f16_1-MLC');
    expect(recommendModel(catalogue, probe({ shaderF16: false, features: [] }))?.id).toBe('Llama-3.2-1B-Instruct-q4f32_1-MLC');
    expect(recommendModel(catalogue, probe({ usable: false, reason: 'no' }))).toBeNull();
  });

  it('recommends among the models offered (e.g. the mirrored ones), smallest first when none is on the list', () => {
    const offered: CatalogueModel[] = [byId('Qwen3-1.7B-q4f16_1-MLC'), byId('Qwen3-0.6B-q4f16_1-MLC'), byId('Llama-3.1-8B-Instruct-q4f16_1-MLC')];
    expect(recommendModel(offered, probe())?.id).toBe('Qwen3-0.6B-q4f16_1-MLC');
  });
});

describe('planMirroredConfig', () => {
  const BRIDGE = 'https://hearth.local:8443';
  const LLAMA = 'Llama-3.2-1B-Instruct-q4f16_1-MLC';
  const QWEN = 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC';
  const config: AppConfig = { model_list: prebuiltAppConfig.model_list.filter((m) => m.model_id === LLAMA || m.model_id === QWEN) };
  const llamaRecord = config.model_list.find((m) => m.model_id === LLAMA)!;
  const libOf = (id: string) => config.model_list.find((m) => m.model_id === id)!.model_lib.split('/').pop()!;
  const hex = (c: string) => c.repeat(64);
  const file = (path: string, size: number, status: MirrorFile['status'] = 'verified'): MirrorFile => ({ path, size, sha256: status === 'pending' ? null : hex('a'), status });
  const repoFiles = (statusOfShard: MirrorFile['status'] = 'verified') => [
    file('mlc-chat-config.json', 1_000),
    file('tensor-cache.json', 20_000),
    file('tokenizer.json', 2_000_000),
    file('params_shard_0.bin', 30_000_000, statusOfShard)
  ];
  const index = (over: Partial<MirrorIndex> = {}): MirrorIndex => ({
    version: 1,
    state: 'ready',
    hashing: { files_pending: 0, bytes_pending: 0, files_hashed: 0, bytes_hashed: 0, files_from_cache: 0 },
    repos: [{ id: `mlc-ai/${LLAMA}`, files: repoFiles() }],
    libs: [file(libOf(LLAMA), 5_000_000)],
    ...over
  });

  it('knows the repo of a Hugging Face model URL', () => {
    expect(repoOfModelUrl(`https://huggingface.co/mlc-ai/${LLAMA}`)).toBe(`mlc-ai/${LLAMA}`);
    expect(repoOfModelUrl(`https://huggingface.co/mlc-ai/${LLAMA}/resolve/main/`)).toBe(`mlc-ai/${LLAMA}`);
  });

  it('points a fully mirrored model at the bridge and leaves an unmirrored one out', () => {
    const plan = planMirroredConfig(config, index(), { bridgeUrl: BRIDGE });
    expect(plan.appConfig.model_list).toHaveLength(1);
    const record = plan.appConfig.model_list[0];
    expect(record.model_id).toBe(LLAMA);
    expect(record.model).toBe(`${BRIDGE}/models/mlc-ai/${LLAMA}`);
    expect(record.model_lib).toBe(`${BRIDGE}/models/libs/${libOf(LLAMA)}`);
    expect(record.vram_required_MB).toBe(llamaRecord.vram_required_MB);
    // web-llm checks config, tokenizer and library against the index's digests.
    expect(record.integrity).toMatchObject({ config: expect.stringMatching(/^sha256-/), model_lib: expect.stringMatching(/^sha256-/), tokenizer: { 'tokenizer.json': expect.stringMatching(/^sha256-/) } });
    expect(plan.sources).toEqual([
      { modelId: LLAMA, source: 'mirror', bytes: 1_000 + 20_000 + 2_000_000 + 30_000_000 + 5_000_000 },
      { modelId: QWEN, source: 'unavailable', reason: NOT_ON_MIRROR, detail: `the mirror has no files of mlc-ai/${QWEN}` }
    ]);
    expect(JSON.stringify(plan.appConfig)).not.toContain('huggingface.co');
  });

  it('a repo still being hashed, or without its model library, is not on the mirror', () => {
    const pending = planMirroredConfig(config, index({ repos: [{ id: `mlc-ai/${LLAMA}`, files: repoFiles('pending') }] }), { bridgeUrl: BRIDGE });
    expect(pending.appConfig.model_list).toEqual([]);
    expect(pending.sources[0]).toMatchObject({ source: 'unavailable', reason: NOT_ON_MIRROR, detail: expect.stringMatching(/params_shard_0\.bin: pending/) });

    const noLib = planMirroredConfig(config, index({ libs: [] }), { bridgeUrl: BRIDGE });
    expect(noLib.sources[0]).toMatchObject({ source: 'unavailable', detail: expect.stringMatching(/no model library/) });

    const noTensorCache = planMirroredConfig(config, index({ repos: [{ id: `mlc-ai/${LLAMA}`, files: repoFiles().filter((f) => f.path !== 'tensor-cache.json') }] }), { bridgeUrl: BRIDGE });
    expect(noTensorCache.sources[0]).toMatchObject({ source: 'unavailable', detail: expect.stringMatching(/lacks tensor-cache\.json/) });
  });

  it('without a mirror nothing is available unless the person asked to download', () => {
    const none = planMirroredConfig(config, null, { bridgeUrl: BRIDGE });
    expect(none.appConfig.model_list).toEqual([]);
    expect(none.sources.every((s) => s.source === 'unavailable' && s.reason === NOT_ON_MIRROR)).toBe(true);
  });

  it('with allowInternet, models not on the mirror keep their internet URLs; mirrored ones still come from the bridge', () => {
    const plan = planMirroredConfig(config, index(), { bridgeUrl: BRIDGE, allowInternet: true });
    expect(plan.appConfig.model_list.map((m) => m.model)).toEqual([`${BRIDGE}/models/mlc-ai/${LLAMA}`, `https://huggingface.co/mlc-ai/${QWEN}`]);
    expect(plan.sources.map((s) => s.source)).toEqual(['mirror', 'internet']);
  });

  it('keeps the other AppConfig settings (cache backend)', () => {
    const plan = planMirroredConfig({ ...config, cacheBackend: 'indexeddb' }, index(), { bridgeUrl: `${BRIDGE}/` });
    expect(plan.appConfig.cacheBackend).toBe('indexeddb');
    expect(plan.appConfig.model_list[0].model).toBe(`${BRIDGE}/models/mlc-ai/${LLAMA}`);
  });
});

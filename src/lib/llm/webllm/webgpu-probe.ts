/**
 * Can this browser run WebLLM? Asks `navigator.gpu` for an adapter the way WebLLM does (high-performance) and
 * checks the limits WebLLM itself insists on, so the Ask page can offer an in-browser model only where it will
 * load, and say why not elsewhere. Takes a `navigator`-like object (a page's or a worker's), so tests drive it.
 *
 * WebGPU has no types in TypeScript's DOM library; the few members used are declared structurally below.
 */

/** WebLLM's own floor (web-llm `detectGPUDevice`): it falls back to these and refuses to start below them. */
export const WEBLLM_MIN_MAX_BUFFER_SIZE_BYTES = 256 * 1024 * 1024;
export const WEBLLM_MIN_STORAGE_BUFFER_BINDING_BYTES = 128 * 1024 * 1024;
export const WEBLLM_MIN_WORKGROUP_STORAGE_BYTES = 32 * 1024;
export const WEBLLM_MIN_STORAGE_BUFFERS_PER_STAGE = 10;
/** Below this binding size WebLLM's guidance is to pick `low_resource_required` models (phones, small iGPUs). */
export const LIMITED_DEVICE_BINDING_BYTES = 1024 * 1024 * 1024;

export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

export interface GpuAdapterLike {
  features: { has(feature: string): boolean; forEach?(fn: (feature: string) => void): void };
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize?: number;
    maxStorageBuffersPerShaderStage?: number;
  };
  /** Chrome 127+; older browsers have `requestAdapterInfo()` instead. */
  info?: GpuAdapterInfoLike;
  requestAdapterInfo?(): Promise<GpuAdapterInfoLike>;
  /** Where `info.isFallbackAdapter` is missing (older Chrome) it sat on the adapter. */
  isFallbackAdapter?: boolean;
}

export interface NavigatorLike {
  gpu?: { requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null> };
  /** Chrome only; GB of RAM rounded down to a power of two and capped at 8. */
  deviceMemory?: number;
}

export interface WebGpuProbe {
  /** WebLLM can start here (it may still be slow, or need an f32 model). */
  usable: boolean;
  /** For people: why not, or what the limitation is, or what it runs on. */
  reason: string;
  /** The adapter's features, sorted; empty without an adapter. */
  features: string[];
  shaderF16: boolean;
  maxBufferSize: number | null;
  maxStorageBufferBindingSize: number | null;
  /** maxStorageBufferBindingSize below 1 GiB: only `low_resource_required` models are worth trying. */
  limitedDevice: boolean;
  vendor: string | null;
  architecture: string | null;
  /** A software rasteriser (SwiftShader, WARP): WebGPU works but no GPU does the work. */
  isFallbackAdapter: boolean;
  /** `navigator.deviceMemory` where the browser tells (GB, capped at 8). */
  deviceMemoryGB: number | null;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${Math.floor(bytes / MB)} MB`;

function noAdapter(reason: string, deviceMemoryGB: number | null): WebGpuProbe {
  return {
    usable: false,
    reason,
    features: [],
    shaderF16: false,
    maxBufferSize: null,
    maxStorageBufferBindingSize: null,
    limitedDevice: false,
    vendor: null,
    architecture: null,
    isFallbackAdapter: false,
    deviceMemoryGB
  };
}

function listFeatures(adapter: GpuAdapterLike): string[] {
  const found: string[] = [];
  if (typeof adapter.features.forEach === 'function') adapter.features.forEach((f) => found.push(f));
  else for (const f of ['shader-f16', 'subgroups', 'timestamp-query']) if (adapter.features.has(f)) found.push(f);
  return found.sort();
}

async function adapterInfo(adapter: GpuAdapterLike): Promise<GpuAdapterInfoLike> {
  if (adapter.info) return adapter.info;
  try {
    return (await adapter.requestAdapterInfo?.()) ?? {};
  } catch {
    return {};
  }
}

/** The first WebLLM minimum this adapter misses, in words; null when it meets them all. */
function limitShortfall(limits: GpuAdapterLike['limits']): string | null {
  const checks: [string, number | undefined, number, (n: number) => string][] = [
    ['maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize, WEBLLM_MIN_STORAGE_BUFFER_BINDING_BYTES, mb],
    ['maxBufferSize', limits.maxBufferSize, WEBLLM_MIN_MAX_BUFFER_SIZE_BYTES, mb],
    ['maxComputeWorkgroupStorageSize', limits.maxComputeWorkgroupStorageSize, WEBLLM_MIN_WORKGROUP_STORAGE_BYTES, (n) => `${n / 1024} KB`],
    ['maxStorageBuffersPerShaderStage', limits.maxStorageBuffersPerShaderStage, WEBLLM_MIN_STORAGE_BUFFERS_PER_STAGE, String]
  ];
  for (const [name, value, needed, show] of checks) {
    if (value !== undefined && value < needed) return `${name} is ${show(value)}, WebLLM needs ${show(needed)}`;
  }
  return null;
}

export async function probeWebGpu(nav: NavigatorLike | undefined): Promise<WebGpuProbe> {
  const deviceMemoryGB = typeof nav?.deviceMemory === 'number' && nav.deviceMemory > 0 ? nav.deviceMemory : null;
  // navigator.gpu is also missing on plain http (WebGPU needs a secure context), which the reason cannot tell apart.
  if (!nav?.gpu || typeof nav.gpu.requestAdapter !== 'function') return noAdapter('this browser has no WebGPU', deviceMemoryGB);
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return noAdapter(`WebGPU failed to start: ${err instanceof Error ? err.message : String(err)}`, deviceMemoryGB);
  }
  if (!adapter) return noAdapter('no GPU adapter (WebGPU is switched off, or this GPU or driver is blocklisted)', deviceMemoryGB);

  const info = await adapterInfo(adapter);
  const features = listFeatures(adapter);
  const shaderF16 = adapter.features.has('shader-f16');
  const isFallbackAdapter = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  const probe: WebGpuProbe = {
    usable: true,
    reason: '',
    features,
    shaderF16,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    limitedDevice: adapter.limits.maxStorageBufferBindingSize < LIMITED_DEVICE_BINDING_BYTES,
    vendor: info.vendor || null,
    architecture: info.architecture || null,
    isFallbackAdapter,
    deviceMemoryGB
  };
  const shortfall = limitShortfall(adapter.limits);
  if (isFallbackAdapter) return { ...probe, usable: false, reason: 'no GPU adapter (software-only)' };
  if (shortfall) return { ...probe, usable: false, reason: `this GPU is too limited for WebLLM (${shortfall})` };
  const gpu = [probe.vendor, probe.architecture].filter(Boolean).join(' ') || 'this GPU';
  if (!shaderF16) return { ...probe, reason: 'adapter lacks shader-f16 — only f32 models' };
  if (probe.limitedDevice) return { ...probe, reason: `WebGPU on ${gpu}, limited memory — small models only` };
  return { ...probe, reason: `WebGPU on ${gpu}` };
}

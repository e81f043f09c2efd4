/**
 * WebLLM (WebGPU) as an LLM engine: the device probe, the model catalogue, loading from the bridge's mirror, and
 * the engine adapter. Importing this does not load web-llm itself (6 MB); load-webllm.ts imports it on demand.
 */
export * from './webgpu-probe.js';
export * from './catalogue.js';
export * from './prebuilt.js';
export * from './mirror-config.js';
export * from './webllm-errors.js';
export * from './webllm-engine.js';
export * from './load-webllm.js';

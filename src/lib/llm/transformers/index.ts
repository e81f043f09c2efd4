/** The transformers.js engine adapter: a small ONNX model run in this process (WASM/WebGPU in browsers, CPU in Node). */
export {
  TransformersEngine,
  TRANSFORMERS_MAX_WAITING,
  type TransformersDevice,
  type TransformersDtype,
  type TransformersEngineOptions,
  type TransformersLoadProgress,
  type ModelSource,
  type WasmPaths
} from './transformers-engine.js';

/** The OpenAI-compatible engine adapter (Ollama, llama.cpp server, LM Studio, vLLM). */
export { OpenAiEngine, normaliseBaseUrl, OPENAI_MODELS_CACHE_MS, OPENAI_REQUEST_TIMEOUT_MS, type OpenAiEngineOptions } from './openai-engine.js';

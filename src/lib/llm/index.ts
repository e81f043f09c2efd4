/** LLM service (M04): the engine port, request checks, and llm.chat / llm.complete over the bus. */
export * from './engine.js';
export * from './requests.js';
export * from './llm-service.js';

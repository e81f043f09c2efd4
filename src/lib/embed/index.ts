/** Embedding service (M11): the embedder port, the zero-download hashed model, request checks, embed.text over the bus. */
export * from './embedder.js';
export * from './hashed-ngrams.js';
export * from './requests.js';
export * from './embed-service.js';
// The transformers.js embedder is imported from './transformers-embedder.js' directly, like llm/transformers: the
// library itself loads lazily, but keeping the adapter out of the barrel keeps it out of bundles that do not use it.

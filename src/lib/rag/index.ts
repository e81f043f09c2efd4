/** Retrieval for rag.* (M05): extraction, chunking, BM25 and flat vector indexes, hybrid fusion, the Corpus. */
export * from './constants.js';
export * from './types.js';
export * from './ports.js';
export { extractText, documentText, normaliseMediaType } from './extract.js';
export { markdownSections, type MarkdownSection } from './markdown.js';
export { chunkSpans, chunkSegments, approximateTokens, type ChunkOptions, type Span } from './chunk.js';
export { Bm25Index, bm25Idf, type Scored, type SearchOptions } from './bm25.js';
export { VectorIndex, normalised } from './vector-index.js';
export { reciprocalRankFusion } from './fusion.js';
export { chunkPredicate, validateFilter, type RagFilter } from './filters.js';
export { encodeVector, decodeVector, type CorpusSnapshot } from './snapshot.js';
export * from './corpus.js';
export * from './rag-service.js';

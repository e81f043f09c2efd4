/** M05 §7 / GLOSSARY constants, plus the few numbers this TypeScript port adds (named with units). */

/** Target chunk size, in approximate tokens (M05 §3.1). */
export const RAG_CHUNK_TOKENS = 1000;
/** Tokens shared by neighbouring chunks, so a sentence cut at a border is still whole in one of them. */
export const RAG_CHUNK_OVERLAP_TOKENS = 200;
export const RAG_DEFAULT_K = 5;
export const RAG_MAX_K = 20;

/**
 * "Approximate tokens": no tokenizer ships with the library, so a token is counted as four characters, the usual
 * figure for English BPE vocabularies (German runs a little longer per token, so chunks there are a bit smaller
 * in real tokens, which is the safe side for an embedder's context window).
 */
export const CHARS_PER_TOKEN = 4;

/** Reciprocal rank fusion constant (Cormack et al. 2009); 60 is the value the paper and most engines use. */
export const RRF_K = 60;
/** How many candidates each ranker contributes to the fusion, at least, and as a multiple of k. */
export const FUSION_MIN_CANDIDATES = 50;
export const FUSION_CANDIDATES_PER_K = 4;

/** BM25 parameters (Robertson & Zaragoza): the common defaults. */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

export const SNAPSHOT_VERSION = 1;

/**
 * Bounds on one document, so a hostile or broken file (documents come from peers' blobs) cannot stall a node:
 * bytes read, PDF pages, characters of extracted text.
 */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
export const MAX_PDF_PAGES = 2_000;
export const MAX_DOCUMENT_CHARS = 8_000_000;
/** Markdown lines longer than this keep their inline markup: the cleanup patterns backtrack on very long lines. */
export const MAX_INLINE_MARKUP_CHARS = 4_000;
/** Entries per filter list (doc ids, media types, tags). */
export const MAX_FILTER_LIST = 100;

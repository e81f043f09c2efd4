/**
 * Which instance of a capability can serve which request (M03 §5.5). The default accepts anything; LLM entries
 * match the requested model against `params.model` and `params.models` (DESIGN §3.11), embeddings against their
 * model, retrieval against the corpus. Services may register their own predicate with the capability.
 */
import type { ParamsCompatible } from './capability.js';

export const anyParams: ParamsCompatible = () => true;

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** A requested `key` (when given) must be the offered `key` or one of the offered `plural`. */
export function matchesOneOf(key: string, plural: string): ParamsCompatible {
  return (offered, requested) => {
    const wanted = requested[key];
    if (wanted === undefined || wanted === null || wanted === '') return true;
    return [...listOf(offered[key]), ...listOf(offered[plural])].includes(wanted);
  };
}

export const BUILT_IN_PARAMS_COMPATIBLE: Readonly<Record<string, ParamsCompatible>> = {
  'llm.chat': matchesOneOf('model', 'models'),
  'llm.complete': matchesOneOf('model', 'models'),
  'embed.text': matchesOneOf('model', 'models'),
  'rag.query': matchesOneOf('corpus', 'corpora'),
  // A node that creates corpora on ingest says so with `any_corpus`; otherwise only its own corpora match.
  'rag.ingest': (offered, requested) => offered.any_corpus === true || matchesOneOf('corpus', 'corpora')(offered, requested)
};

/**
 * Contract §3.1: capability prefixes. Owned prefixes are open to their services, reserved ones to nobody (yet),
 * and anything else must say it is unstable by living under `experimental.`.
 */
export const OWNED_PREFIXES = ['llm', 'embed', 'rag', 'file', 'market', 'chat', 'community', 'federation', 'experimental'] as const;
export const RESERVED_PREFIXES = ['ocr', 'tts', 'stt', 'trans', 'img'] as const;

const CAPABILITY_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const CAPABILITY_NAME_MAX_CHARS = 128;

/** null when `name` may be offered (by `owner`, when given), else why not. */
export function namespaceProblem(name: string, owner?: string): string | null {
  if (typeof name !== 'string' || !CAPABILITY_NAME.test(name) || name.length > CAPABILITY_NAME_MAX_CHARS) {
    return `capability name ${JSON.stringify(name)} must be dotted lowercase words (e.g. "market.post"), at most ${CAPABILITY_NAME_MAX_CHARS} characters`;
  }
  const prefix = name.slice(0, name.indexOf('.'));
  if ((RESERVED_PREFIXES as readonly string[]).includes(prefix)) {
    return `the prefix "${prefix}." is reserved for a later release and may not be used (contract §3.1); use "experimental.${name}"`;
  }
  if (!(OWNED_PREFIXES as readonly string[]).includes(prefix)) {
    return `"${name}" is outside the contract's namespaces (${OWNED_PREFIXES.join(', ')}); unlisted capabilities must start with "experimental."`;
  }
  if (owner !== undefined && prefix !== owner && prefix !== 'experimental') {
    return `the ${owner} service may only offer "${owner}.*" or "experimental.*" capabilities, not "${name}"`;
  }
  return null;
}

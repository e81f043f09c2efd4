/**
 * Canonical JSON is RFC 8785 (JCS), DESIGN §3.1: keys sorted by UTF-16 code units, no whitespace, numbers as
 * ECMAScript prints them, non-ASCII unescaped. NaN, Infinity, undefined and unsafe integers are refused so that a
 * signature never covers a value another implementation would read differently.
 */
export class CanonicalJsonError extends Error {
  constructor(path: string, reason: string) {
    super(`canonical JSON: ${reason} at ${path || '$'}`);
    this.name = 'CanonicalJsonError';
  }
}

export function canonicalJson(value: unknown): string {
  return serialise(value, '$', new Set());
}

function serialise(value: unknown, path: string, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return serialiseNumber(value, path);
    case 'object':
      return serialiseObject(value as object, path, seen);
    default:
      throw new CanonicalJsonError(path, `${typeof value} is not JSON`);
  }
}

function serialiseNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) throw new CanonicalJsonError(path, `${n} is not a JSON number`);
  // Integers past 2^53 that ECMAScript prints as plain digits look exact but may not be (2^53 + 1 reads as 2^53):
  // refused. From 1e21 on, numbers print in exponent form (1e+21) and are plainly floating point: allowed.
  if (Number.isInteger(n) && !Number.isSafeInteger(n) && Math.abs(n) < 1e21) {
    throw new CanonicalJsonError(path, 'integer beyond 2^53 (send it as a string)');
  }
  // ECMAScript Number::toString is exactly the JCS number form; -0 prints as 0.
  return String(n);
}

function serialiseObject(value: object, path: string, seen: Set<object>): string {
  if (seen.has(value)) throw new CanonicalJsonError(path, 'cycle');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return '[' + value.map((item, i) => serialise(item, `${path}[${i}]`, seen)).join(',') + ']';
    }
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      throw new CanonicalJsonError(path, 'binary data must be encoded (base64url) before signing');
    }
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 asks for.
    const keys = Object.keys(record).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) throw new CanonicalJsonError(`${path}.${key}`, 'undefined is not JSON');
      parts.push(JSON.stringify(key) + ':' + serialise(item, `${path}.${key}`, seen));
    }
    return '{' + parts.join(',') + '}';
  } finally {
    seen.delete(value);
  }
}

/** The closed set of wire error codes (CONTRACT §9) and their HTTP statuses (§5.5). */
export const ERROR_CODES = [
  'bad_request',
  'schema_mismatch',
  'invalid_signature',
  'unauthorized',
  'revoked',
  'expired',
  'not_found',
  'not_implemented',
  'timeout',
  'partition',
  'capacity_exceeded',
  'rate_limited',
  'internal_error'
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const HTTP_STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  bad_request: 400,
  schema_mismatch: 400,
  invalid_signature: 401,
  unauthorized: 401,
  revoked: 403,
  not_found: 404,
  timeout: 408,
  expired: 410,
  rate_limited: 429,
  capacity_exceeded: 429,
  internal_error: 500,
  not_implemented: 501,
  partition: 503
};

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['timeout', 'partition', 'capacity_exceeded', 'rate_limited']);

/** The error body of CONTRACT §5.4. */
export interface WireError {
  error: ErrorCode;
  message?: string;
  retry_after_ms?: number;
  alt_capabilities?: string[];
  alt_nodes?: string[];
  schema_hash_expected?: string;
  /** A finer, service-specific reason under the wire code (e.g. M13's `invite_expired`), for programs; people read `message`. */
  reason?: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** The one error type that crosses layers; every failure a peer can see carries one of the 13 codes. */
export class HearthError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs?: number;
  readonly extra: Omit<WireError, 'error' | 'message' | 'retry_after_ms'>;

  constructor(code: ErrorCode, message: string, options: { retryAfterMs?: number; extra?: HearthError['extra'] } = {}) {
    super(message);
    this.name = 'HearthError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
    this.extra = options.extra ?? {};
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  get httpStatus(): number {
    return HTTP_STATUS_OF[this.code];
  }

  toWire(): WireError {
    const wire: WireError = { error: this.code, message: this.message, ...this.extra };
    if (this.retryAfterMs !== undefined) wire.retry_after_ms = this.retryAfterMs;
    return wire;
  }

  static fromWire(wire: WireError): HearthError {
    const { error, message, retry_after_ms, ...extra } = wire;
    const code = isErrorCode(error) ? error : 'internal_error';
    return new HearthError(code, message ?? code, { retryAfterMs: retry_after_ms, extra });
  }

  /** Anything thrown by our own code that is not a HearthError is a bug, reported as internal_error. */
  static from(err: unknown): HearthError {
    if (err instanceof HearthError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new HearthError('internal_error', message);
  }
}

/**
 * `/models/…` on the bridge (relay/README.md "Model mirror"):
 *   GET /models/index.json                                  what the mirror holds (no-store)
 *   GET /models/<org>/<repo>/resolve/main/<file path>       a repo file (transformers.js and WebLLM request this)
 *   GET /models/libs/<file>.wasm                            a WebLLM model library
 * Files carry `ETag: "sha256-<hex>"` and `Repr-Digest`, are revalidated by ETag on every use (`no-cache`; a 304 is cheap), and answer HEAD, one `Range`
 * (206/416) and `If-None-Match` (304). A full GET is hashed again as it is sent and the last chunk is held back until
 * the hash matches: bytes that changed on disk since hashing are cut off, never delivered whole.
 * Errors are wire errors (`{error, message, reason}`): 400 bad path, 404 unknown or no mirror, 405, 409 corrupt,
 * 500 unreadable, 503 + Retry-After still hashing.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { WireError } from '../src/lib/core/index.js';
import { MIRROR_LIBS_DIR, MIRROR_REVISION } from '../src/lib/llm/mirror.js';
import { sendPreflight } from './cors.js';
import type { ModelMirror } from './model-mirror.js';

export const MODELS_PREFIX = '/models/';
export const MODELS_INDEX_PATH = '/models/index.json';
/** `/resolve/main/…` is not content-addressed: an operator may replace a file, so browsers revalidate (a cheap 304 by ETag). */
export const MODELS_CACHE_CONTROL = 'no-cache';
/** Read size when serving; matches the hashing reads. */
const SERVE_READ_BYTES = 1024 * 1024;

type SendJson = (res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;

export const isModelsPath = (path: string): boolean => path === '/models' || path.startsWith(MODELS_PREFIX);

/**
 * Only types a loader needs get their own; everything else is an octet stream. The mirror shares the app's origin,
 * so a file must never be something a browser would render or run (an .html or .svg in a repo).
 */
const MODEL_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8'
};
export const contentTypeOf = (path: string): string => MODEL_CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';

export type ModelsRequest =
  | { kind: 'index' }
  | { kind: 'file'; group: string; path: string }
  | { kind: 'bad_path'; message: string }
  | { kind: 'not_found'; message: string };

const USAGE = `files are at ${MODELS_PREFIX}<org>/<repo>/resolve/${MIRROR_REVISION}/<file> and ${MODELS_PREFIX}${MIRROR_LIBS_DIR}/<file>.wasm; the list is ${MODELS_INDEX_PATH}`;

/**
 * Parses the raw request path (before any decoding) into what it asks for. Each segment is decoded on its own, and one
 * that decodes to `..`, `.`, nothing, or contains `/`, `\` or NUL is refused: no spelling of a traversal gets through.
 * Pure.
 */
export function parseModelsPath(rawPath: string): ModelsRequest {
  if (rawPath === MODELS_INDEX_PATH) return { kind: 'index' };
  if (!rawPath.startsWith(MODELS_PREFIX) || rawPath === MODELS_PREFIX) return { kind: 'not_found', message: USAGE };
  const segments: string[] = [];
  for (const raw of rawPath.slice(MODELS_PREFIX.length).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { kind: 'bad_path', message: 'the path is not valid percent-encoding' };
    }
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) {
      return { kind: 'bad_path', message: `path segments may not be empty, ".", "..", or contain "/", "\\" or NUL (got ${JSON.stringify(raw)})` };
    }
    segments.push(segment);
  }
  if (segments[0] === MIRROR_LIBS_DIR) {
    return segments.length === 2 ? { kind: 'file', group: MIRROR_LIBS_DIR, path: segments[1] } : { kind: 'not_found', message: USAGE };
  }
  if (segments.length < 5 || segments[2] !== 'resolve') return { kind: 'not_found', message: USAGE };
  if (segments[3] !== MIRROR_REVISION) return { kind: 'not_found', message: `the mirror holds the ${MIRROR_REVISION} revision only (asked for ${JSON.stringify(segments[3])})` };
  return { kind: 'file', group: `${segments[0]}/${segments[1]}`, path: segments.slice(4).join('/') };
}

export type RangeAnswer = { kind: 'whole' } | { kind: 'part'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * One `bytes=` range (RFC 9110 §14): `a-b`, `a-`, `-n`. Several ranges, other units and malformed values are ignored
 * (the whole file is sent, as the RFC allows); a range that starts past the end is unsatisfiable. Pure.
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end: Math.min(last, size - 1) };
}

/** If-None-Match uses the weak comparison: `W/` is ignored, `*` matches anything. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/** Hashes what passes and holds the last chunk back until the digest is known to match. */
class DigestGate extends Transform {
  private readonly hash = createHash('sha256');
  private held: Buffer | null = null;

  constructor(
    private readonly expected: string,
    private readonly onMismatch: (actual: string) => void
  ) {
    // One read chunk on each side: enough for reading, hashing and sending to overlap (the default 16 KiB is not, on
    // 1 MiB reads), and little held per slow client (bench/model-mirror.ts measured 4 MiB no faster).
    super({ highWaterMark: SERVE_READ_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    done(null, previous ?? undefined);
  }

  override _flush(done: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (actual !== this.expected) {
      this.onMismatch(actual);
      return done(new Error(`digest mismatch: sent bytes hash to ${actual}, expected ${this.expected}`));
    }
    done(null, this.held ?? undefined);
  }
}

const wire = (error: WireError['error'], message: string, reason: string, extra: Record<string, unknown> = {}) => ({ error, message, reason, ...extra });

/** CORS: the app may be loaded from a public https origin (DESIGN §4) and still load models from the LAN bridge. */
const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'ETag, Repr-Digest, Content-Length, Content-Range, Accept-Ranges, Retry-After'
};

export async function handleModelsRequest(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  mirror: ModelMirror | null,
  sendJson: SendJson,
  logger: Logger
): Promise<void> {
  if (req.method === 'OPTIONS') return sendPreflight(req, res, { methods: 'GET, HEAD, OPTIONS', headers: 'range, if-none-match, if-range, accept', extra: CORS_HEADERS });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, wire('bad_request', `${req.method} is not allowed here`, 'method'), { Allow: 'GET, HEAD, OPTIONS' });
  }
  if (!mirror) {
    return sendJson(
      res,
      404,
      wire('not_found', 'this bridge has no model mirror; to serve models to the LAN set models.dir ([models] dir = "/path" in hearthnet.toml, or --models-dir /path)', 'mirror_disabled')
    );
  }
  const request = parseModelsPath(path);
  if (request.kind === 'bad_path') return sendJson(res, 400, wire('bad_request', request.message, 'bad_path'));
  if (request.kind === 'not_found') return sendJson(res, 404, wire('not_found', request.message, 'not_found'));
  if (request.kind === 'index') return sendJson(res, 200, mirror.index());

  const found = await mirror.acquire(request.group, request.path);
  switch (found.kind) {
    case 'not_found':
      return sendJson(res, 404, wire('not_found', found.message, 'not_found'));
    case 'pending':
      return sendJson(res, 503, wire('capacity_exceeded', `${found.file} is still being hashed; try again in ${found.retryAfterSeconds} s`, 'hashing', { retry_after_ms: found.retryAfterSeconds * 1000, file: found.file }), {
        'Retry-After': String(found.retryAfterSeconds),
        'Access-Control-Expose-Headers': 'Retry-After'
      });
    case 'corrupt':
      return sendJson(
        res,
        409,
        wire('internal_error', `${found.file} does not match its expected SHA-256 (expected ${found.expected}, got ${found.actual}); the bridge will not serve it`, 'corrupt', {
          file: found.file,
          expected_sha256: found.expected,
          actual_sha256: found.actual
        })
      );
    case 'unreadable':
      return sendJson(res, 500, wire('internal_error', `${found.file} cannot be read on the bridge`, 'unreadable', { file: found.file }));
  }

  const { handle, size, sha256 } = found;
  let streaming = false;
  try {
    const etag = `"sha256-${sha256}"`;
    const headers: Record<string, string | number> = {
      ...CORS_HEADERS,
      'Content-Type': contentTypeOf(request.path),
      'Cache-Control': MODELS_CACHE_CONTROL,
      ETag: etag,
      'Repr-Digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`,
      'Accept-Ranges': 'bytes',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox"
    };
    if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    // If-Range with anything but the current (strong) ETag: the client's partial copy is stale, send it all.
    const ifRange = req.headers['if-range'];
    const range = ifRange !== undefined && ifRange !== etag ? ({ kind: 'whole' } as const) : parseRange(req.headers.range, size);
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
      return void res.end();
    }
    const part = range.kind === 'part' ? range : null;
    if (part) {
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${part.start}-${part.end}/${size}`, 'Content-Length': part.end - part.start + 1 });
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': size });
    }
    if (req.method === 'HEAD' || size === 0) return void res.end();
    streaming = true; // the read stream closes the handle when it ends or is destroyed
    const source = handle.createReadStream({ start: part?.start ?? 0, end: part?.end ?? size - 1, highWaterMark: SERVE_READ_BYTES });
    // A part cannot be checked against the whole file's hash; a whole file is checked as it goes.
    const sent = part ? pipeline(source, res) : pipeline(source, new DigestGate(sha256, found.reportMismatch), res);
    await sent.catch((err: unknown) => {
      if (!res.writableFinished) res.destroy();
      logger.debug({ err, file: found.file }, 'model file transfer ended early');
    });
  } finally {
    if (!streaming) await handle.close();
  }
}

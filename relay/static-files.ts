/**
 * Serves the built PWA from `app_dir`: exact files with their MIME type, SPA fallback to index.html for
 * extension-less paths, revalidation for everything except SvelteKit's content-hashed `/_app/immutable/`, and
 * no way out of the folder.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, isAbsolute, sep } from 'node:path';

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf'
};

const IMMUTABLE_PREFIX = '/_app/immutable/';
const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
// index.html, sw.js and manifest.webmanifest must be revalidated or clients keep an old app forever; the service
// worker precache does the offline caching, so plain revalidation costs little for the other files too.
const CACHE_REVALIDATE = 'no-cache';

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HearthNet bridge</title></head>
<body><h1>HearthNet bridge is running</h1>
<p>The web app has not been built yet. Run <code>npm run build</code> (or start with <code>npm start</code>), then reload.</p>
</body></html>
`;

export type Resolved = { kind: 'path'; path: string; urlPath: string } | { kind: 'bad_request' } | { kind: 'forbidden' };

/** Maps a request path to a file path inside `root`; refuses encodings that could leave it. Pure. */
export function resolveRequestPath(root: string, rawUrl: string): Resolved {
  const rawPath = rawUrl.split(/[?#]/, 1)[0];
  let urlPath: string;
  try {
    urlPath = decodeURIComponent(rawPath);
  } catch {
    return { kind: 'bad_request' };
  }
  if (!urlPath.startsWith('/') || urlPath.includes('\0')) return { kind: 'bad_request' };
  // Backslashes are separators on Windows; dot-dot segments are refused outright rather than normalised away.
  if (urlPath.includes('\\') || urlPath.split('/').some((segment) => segment === '..')) return { kind: 'forbidden' };
  const path = join(root, urlPath);
  const rel = relative(root, path);
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return { kind: 'forbidden' };
  return { kind: 'path', path, urlPath };
}

async function fileAt(path: string): Promise<{ path: string; size: number; mtimeMs: number } | null> {
  try {
    const info = await stat(path);
    if (info.isFile()) return { path, size: info.size, mtimeMs: info.mtimeMs };
    if (info.isDirectory()) return fileAt(join(path, 'index.html'));
  } catch {
    // missing or unreadable: same answer
  }
  return null;
}

function sendPlain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: { path: string; size: number; mtimeMs: number }, urlPath: string): void {
  const etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
  const headers: Record<string, string | number> = {
    'Content-Type': MIME_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
    'Cache-Control': urlPath.startsWith(IMMUTABLE_PREFIX) ? CACHE_IMMUTABLE : CACHE_REVALIDATE,
    ETag: etag,
    'X-Content-Type-Options': 'nosniff'
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': file.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file.path);
  stream.on('error', () => res.destroy()); // file vanished mid-send (a rebuild): the client retries
  stream.pipe(res);
}

/** Serves one GET/HEAD request from `appDir`. */
export async function serveStatic(appDir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const resolved = resolveRequestPath(appDir, req.url ?? '/');
  if (resolved.kind === 'bad_request') return sendPlain(res, 400, 'bad request path\n');
  if (resolved.kind === 'forbidden') return sendPlain(res, 403, 'forbidden\n');

  const exact = await fileAt(resolved.path);
  if (exact) return sendFile(req, res, exact, resolved.urlPath);

  const lastSegment = resolved.urlPath.slice(resolved.urlPath.lastIndexOf('/') + 1);
  if (extname(lastSegment) !== '') return sendPlain(res, 404, 'not found\n');

  // An app route such as /chat/alice: the SPA shell routes it in the browser.
  const shell = await fileAt(join(appDir, 'index.html'));
  if (shell) return sendFile(req, res, shell, '/index.html');
  res.writeHead(503, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(NOT_BUILT_PAGE) });
  res.end(req.method === 'HEAD' ? undefined : NOT_BUILT_PAGE);
}

import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFullNodeId, systemClock, verifyNodeManifest } from '../../src/lib/core/index.js';
import { REJECTION_REASONS } from '../../relay/counters.js';
import { resolveRequestPath } from '../../relay/static-files.js';
import { startBridge } from '../../relay/bridge.js';
import { getJson, makeTempDir, startTestBridge, testConfig, type TestBridge } from './helpers.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent byte for byte: fetch() would normalise the very traversals we test. */
function raw(base: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const url = new URL(base);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers, rejectUnauthorized: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      }
    );
    req.on('error', reject);
    req.end();
  });
}

async function writeApp(dir: string): Promise<void> {
  const app = join(dir, 'app');
  await mkdir(join(app, '_app', 'immutable', 'chunks'), { recursive: true });
  await mkdir(join(app, 'icons'), { recursive: true });
  await writeFile(join(app, 'index.html'), '<!doctype html><title>HearthNet</title>SHELL');
  await writeFile(join(app, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  await writeFile(join(app, 'manifest.webmanifest'), '{"name":"HearthNet"}');
  await writeFile(join(app, '_app', 'immutable', 'chunks', 'app.abc123.js'), 'export const x = 1;');
  await writeFile(join(app, 'icons', 'icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  await writeFile(join(app, 'icons', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(join(app, 'model.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
  await writeFile(join(dir, 'secret.txt'), 'TOP SECRET');
}

describe('HTTP: static app, SPA fallback, /health, /manifest', () => {
  let bridge: TestBridge;

  beforeAll(async () => {
    bridge = await startTestBridge();
    await writeApp(bridge.dir);
  });
  afterAll(() => bridge.close());

  it.each([
    ['/', 'text/html; charset=utf-8', 'no-cache'],
    ['/index.html', 'text/html; charset=utf-8', 'no-cache'],
    ['/sw.js', 'text/javascript; charset=utf-8', 'no-cache'],
    ['/manifest.webmanifest', 'application/manifest+json; charset=utf-8', 'no-cache'],
    ['/_app/immutable/chunks/app.abc123.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
    ['/icons/icon.png', 'image/png', 'no-cache'],
    ['/icons/logo.svg', 'image/svg+xml', 'no-cache'],
    ['/model.wasm', 'application/wasm', 'no-cache']
  ])('serves %s as %s with Cache-Control %s', async (path, type, cache) => {
    const res = await fetch(bridge.handle.httpUrl + path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('cache-control')).toBe(cache);
    await res.arrayBuffer();
  });

  it('falls back to index.html for app routes without an extension, 404 for missing files with one', async () => {
    for (const path of ['/chat', '/chat/alice', '/market/offers/', '/x?y=1']) {
      const res = await fetch(bridge.handle.httpUrl + path);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('SHELL');
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
    for (const path of ['/missing.js', '/_app/immutable/nope.css', '/icons/none.png']) {
      expect((await fetch(bridge.handle.httpUrl + path)).status, path).toBe(404);
    }
  });

  it('never serves a file outside app_dir', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/icons/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd']) {
      const res = await raw(bridge.handle.httpUrl, path);
      expect(res.body, path).not.toContain('TOP SECRET');
      expect([400, 403], path).toContain(res.status);
    }
    expect((await raw(bridge.handle.httpUrl, '/%E0%A4%A')).status).toBe(400);
    expect((await raw(bridge.handle.httpUrl, '/a%00b')).status).toBe(400);
  });

  it('resolveRequestPath refuses dot-dot segments however they are spelled', () => {
    expect(resolveRequestPath('/srv/app', '/a/../../b')).toEqual({ kind: 'forbidden' });
    expect(resolveRequestPath('/srv/app', '/a%2f..%2f..%2fb')).toEqual({ kind: 'forbidden' });
    expect(resolveRequestPath('/srv/app', '/ok/file.js?v=1')).toEqual({ kind: 'path', path: '/srv/app/ok/file.js', urlPath: '/ok/file.js' });
  });

  it('answers HEAD without a body and revalidation with 304', async () => {
    const head = await raw(bridge.handle.httpUrl, '/sw.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const again = await raw(bridge.handle.httpUrl, '/sw.js', { headers: { 'If-None-Match': String(head.headers.etag) } });
    expect(again.status).toBe(304);
  });

  it('refuses writes, plain GET /signal, and the not-yet-built gateway with wire errors', async () => {
    const post = await fetch(`${bridge.handle.httpUrl}/index.html`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect((await post.json()).error).toBe('bad_request');
    const signal = await fetch(`${bridge.handle.httpUrl}/signal`);
    expect(signal.status).toBe(426);
    const bus = await fetch(`${bridge.handle.httpUrl}/bus/v1/call`, { method: 'POST', body: '{}' });
    expect(bus.status).toBe(501);
    expect(await bus.json()).toMatchObject({ error: 'not_implemented' });
  });

  it('reports health with identity, counts and every rejection counter', async () => {
    const res = await fetch(`${bridge.handle.httpUrl}/health`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const health = await res.json();
    expect(health).toMatchObject({ status: 'ok', name: 'test-bridge', version: '0.1.0', clients: 0, rooms: 0, bridges: [] });
    expect(health.node_id).toBe(bridge.handle.nodeId);
    expect(isFullNodeId(health.node_id)).toBe(true);
    expect(health.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(Object.keys(health.counters).sort()).toEqual([...REJECTION_REASONS].sort());
  });

  it('serves a signed bridge manifest that verifies', async () => {
    const manifest = await getJson(`${bridge.handle.httpUrl}/manifest`);
    const verified = await verifyNodeManifest(manifest, systemClock);
    expect(verified).toMatchObject({ node_id: bridge.handle.nodeId, profile: 'bridge', community_id: '', display_name: 'test-bridge' });
    expect(verified.endpoints).toContainEqual({ transport: 'http', host: bridge.handle.advertisedHost, port: bridge.handle.port });
  });
});

describe('HTTP without a built app, and over HTTPS', () => {
  it('answers / with a page that says to run npm run build', async () => {
    const bridge = await startTestBridge();
    try {
      const res = await fetch(`${bridge.handle.httpUrl}/`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(await res.text()).toContain('npm run build');
      expect((await fetch(`${bridge.handle.httpUrl}/some/route`)).status).toBe(503);
      expect((await fetch(`${bridge.handle.httpUrl}/health`)).status).toBe(200);
    } finally {
      await bridge.close();
    }
  });

  it('serves the same handler over HTTPS with a generated certificate kept in data_dir', async () => {
    const port = await freePort();
    const bridge = await startTestBridge(['--https-port', String(port)]);
    try {
      expect(bridge.handle.httpsUrl).toBe(`https://127.0.0.1:${port}`);
      const res = await raw(bridge.handle.httpsUrl!, '/health');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).node_id).toBe(bridge.handle.nodeId);
      const manifest = await raw(bridge.handle.httpsUrl!, '/manifest');
      expect(JSON.parse(manifest.body).endpoints).toContainEqual({ transport: 'https', host: bridge.handle.advertisedHost, port });
    } finally {
      await bridge.close();
    }
  });
});

describe('start-up failures', () => {
  it('names the busy port, and releases what it had opened', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const busy = (blocker.address() as { port: number }).port;
    const temp = await makeTempDir();
    try {
      await expect(startBridge(testConfig(temp.path, ['--host', '127.0.0.1', '--port', String(busy)]))).rejects.toThrow(
        `cannot listen for HTTP on 127.0.0.1:${busy}: EADDRINUSE (in use by another program; choose another port)`
      );
    } finally {
      blocker.close();
      await temp.remove();
    }
  });
});

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

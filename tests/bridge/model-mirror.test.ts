/**
 * The bridge's model mirror (issue 5 item 3; relay/README.md "Model mirror") over real HTTP: byte-identical files with
 * their digests, Range/HEAD/304, the index with hashes computed here, SHA256SUMS mismatches refused, traversal refused,
 * the hash cache used on restart, 503 while hashing, a file changed on disk caught while it is served, and the app's
 * helper (src/lib/llm/mirror.ts) reading this bridge.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeHandle } from '../../relay/bridge.js';
import { parseModelsPath, parseRange } from '../../relay/model-mirror-http.js';
import { MIRROR_CACHE_FILE } from '../../relay/model-mirror.js';
import { parseSha256Sums } from '../../relay/model-mirror-sums.js';
import { mirrorHas, readMirrorIndex, verifiedFetch, type MirrorIndex } from '../../src/lib/llm/mirror.js';
import { makeTempDir, startTestBridge, testConfig, waitFor } from './helpers.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with the path sent byte for byte (fetch would normalise the traversals under test). */
function raw(base: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const FIXED_MTIME_S = 1_700_000_000; // whole seconds: restoring it later gives the very same mtimeMs

/** What the models folder holds; content by path relative to `<dir>/models`. */
interface Fixture {
  models: string;
  files: Record<string, Buffer>;
}

async function writeModels(dir: string): Promise<Fixture> {
  const models = join(dir, 'models');
  const files: Record<string, Buffer> = {
    'onnx-community/tiny-model/config.json': Buffer.from('{"model_type":"llama"}\n'),
    'onnx-community/tiny-model/tokenizer.json': Buffer.from('{"version":"1.0"}\n'),
    'onnx-community/tiny-model/onnx/model_q4.onnx': randomBytes(300 * 1024),
    'onnx-community/tiny-model/changing.bin': randomBytes(4096),
    'mlc-ai/tiny-MLC/mlc-chat-config.json': Buffer.from('{"conv_template":"x"}'),
    'mlc-ai/tiny-MLC/params_shard_0.bin': randomBytes(64 * 1024),
    'mlc-ai/tiny-MLC/empty.txt': Buffer.alloc(0),
    'libs/tiny-MLC-webgpu.wasm': Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])
  };
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(join(models, path, '..'), { recursive: true });
    await writeFile(join(models, path), bytes);
  }
  await utimes(join(models, 'onnx-community/tiny-model/changing.bin'), FIXED_MTIME_S, FIXED_MTIME_S);
  // Expected hashes from the operator: one right, one wrong, one for a file that is not there.
  const mlc = 'mlc-ai/tiny-MLC';
  await writeFile(
    join(models, mlc, 'SHA256SUMS'),
    `${sha256(files[`${mlc}/mlc-chat-config.json`])}  ./mlc-chat-config.json\n${'0'.repeat(64)} *params_shard_0.bin\n${'a'.repeat(64)}  params_shard_1.bin\n`
  );
  // What `huggingface-cli download --local-dir` leaves behind, and links in and out of the folder.
  await mkdir(join(models, 'onnx-community/tiny-model/.cache/huggingface'), { recursive: true });
  await writeFile(join(models, 'onnx-community/tiny-model/.cache/huggingface/config.json.metadata'), 'meta');
  await writeFile(join(dir, 'secret.txt'), 'TOP SECRET');
  await symlink(join(dir, 'secret.txt'), join(models, 'onnx-community/tiny-model/leak.txt'));
  await symlink('config.json', join(models, 'onnx-community/tiny-model/alias.json'));
  await mkdir(join(dir, 'app'), { recursive: true });
  await writeFile(join(dir, 'app', 'index.html'), '<!doctype html>SHELL');
  return { models, files };
}

async function startMirrorBridge(dir: string, models: string): Promise<BridgeHandle> {
  return startBridge(testConfig(dir, ['--models-dir', models]));
}

const fileUrl = (repo: string, path: string) => `/models/${repo}/resolve/main/${path}`;
const indexOf = async (bridge: BridgeHandle): Promise<MirrorIndex> => (await fetch(`${bridge.httpUrl}/models/index.json`)).json();
const ready = (bridge: BridgeHandle) => waitFor(async () => ((await indexOf(bridge)).state === 'ready' ? indexOf(bridge) : null), 'mirror hashed');

describe('model mirror: serving files', () => {
  let temp: { path: string; remove: () => Promise<void> };
  let fixture: Fixture;
  let bridge: BridgeHandle;
  const repo = 'onnx-community/tiny-model';
  const model = `${repo}/onnx/model_q4.onnx`;

  beforeAll(async () => {
    temp = await makeTempDir();
    fixture = await writeModels(temp.path);
    bridge = await startMirrorBridge(temp.path, fixture.models);
    await ready(bridge);
  });
  afterAll(async () => {
    await bridge?.close();
    await temp.remove();
  });

  it('lists every repo, file and library with the SHA-256 of its bytes, and nothing else', async () => {
    const index = await indexOf(bridge);
    expect(index).toMatchObject({ version: 1, state: 'ready', hashing: { files_pending: 0, bytes_pending: 0, files_from_cache: 0 } });
    const listed = new Map<string, { size: number | null; sha256: string | null; status: string }>();
    for (const r of index.repos) for (const f of r.files) listed.set(`${r.id}/${f.path}`, f);
    for (const f of index.libs) listed.set(`libs/${f.path}`, f);
    for (const [path, bytes] of Object.entries(fixture.files)) {
      expect(listed.get(path), path).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
    }
    // The link inside the folder is a file like any other; the one leading out, dot-folders and SHA256SUMS are not.
    expect(listed.get(`${repo}/alias.json`)?.sha256).toBe(sha256(fixture.files[`${repo}/config.json`]));
    const extra = [...listed.keys()].filter((k) => !(k in fixture.files));
    expect(extra.sort()).toEqual([`mlc-ai/tiny-MLC/params_shard_1.bin`, `${repo}/alias.json`]);
    expect(listed.get(`${repo}/config.json`)?.status).toBe('hashed');
    expect(index.hashing.files_hashed).toBe(Object.keys(fixture.files).length + 1);
  });

  it('serves a file byte-identical, with its digest, type, length and revalidation by ETag', async () => {
    const res = await raw(bridge.httpUrl, fileUrl(repo, 'onnx/model_q4.onnx'));
    const bytes = fixture.files[model];
    expect(res.status).toBe(200);
    expect(res.body.equals(bytes)).toBe(true);
    expect(res.headers).toMatchObject({
      etag: `"sha256-${sha256(bytes)}"`,
      'repr-digest': `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`,
      'content-length': String(bytes.length),
      'content-type': 'application/octet-stream',
      'cache-control': 'no-cache',
      'accept-ranges': 'bytes',
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff'
    });
    expect((await raw(bridge.httpUrl, fileUrl(repo, 'config.json'))).headers['content-type']).toBe('application/json; charset=utf-8');
    const lib = await raw(bridge.httpUrl, '/models/libs/tiny-MLC-webgpu.wasm');
    expect(lib.headers['content-type']).toBe('application/wasm');
    expect(lib.body.equals(fixture.files['libs/tiny-MLC-webgpu.wasm'])).toBe(true);
    const empty = await raw(bridge.httpUrl, fileUrl('mlc-ai/tiny-MLC', 'empty.txt'));
    expect([empty.status, empty.body.length, empty.headers.etag]).toEqual([200, 0, `"sha256-${sha256('')}"`]);
  });

  it('answers one Range with 206 and the right slice, an impossible one with 416, several with the whole file', async () => {
    const bytes = fixture.files[model];
    const cases: [string, number, number][] = [
      ['bytes=100-199', 100, 199],
      ['bytes=307000-', 307000, bytes.length - 1],
      ['bytes=-10', bytes.length - 10, bytes.length - 1],
      ['bytes=0-99999999', 0, bytes.length - 1]
    ];
    for (const [range, start, end] of cases) {
      const res = await raw(bridge.httpUrl, fileUrl(repo, 'onnx/model_q4.onnx'), { headers: { Range: range } });
      expect(res.status, range).toBe(206);
      expect(res.headers['content-range'], range).toBe(`bytes ${start}-${end}/${bytes.length}`);
      expect(res.headers['content-length'], range).toBe(String(end - start + 1));
      expect(res.body.equals(bytes.subarray(start, end + 1)), range).toBe(true);
      expect(res.headers.etag).toBe(`"sha256-${sha256(bytes)}"`);
    }
    const past = await raw(bridge.httpUrl, fileUrl(repo, 'onnx/model_q4.onnx'), { headers: { Range: `bytes=${bytes.length}-` } });
    expect([past.status, past.headers['content-range']]).toEqual([416, `bytes */${bytes.length}`]);
    const several = await raw(bridge.httpUrl, fileUrl(repo, 'onnx/model_q4.onnx'), { headers: { Range: 'bytes=0-1,5-6' } });
    expect([several.status, several.body.length]).toEqual([200, bytes.length]);
    const staleIfRange = await raw(bridge.httpUrl, fileUrl(repo, 'onnx/model_q4.onnx'), { headers: { Range: 'bytes=0-1', 'If-Range': '"sha256-old"' } });
    expect(staleIfRange.status).toBe(200);
  });

  it('answers HEAD with the headers and no body, and If-None-Match with 304', async () => {
    const head = await raw(bridge.httpUrl, fileUrl(repo, 'onnx/model_q4.onnx'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(fixture.files[model].length));
    const etag = String(head.headers.etag);
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await raw(bridge.httpUrl, fileUrl(repo, 'onnx/model_q4.onnx'), { headers: { 'If-None-Match': inm } });
      expect([res.status, res.body.length, res.headers.etag], inm).toEqual([304, 0, etag]);
    }
    expect((await raw(bridge.httpUrl, fileUrl(repo, 'onnx/model_q4.onnx'), { headers: { 'If-None-Match': '"sha256-other"' } })).status).toBe(200);
  });

  it('refuses a file whose bytes do not match SHA256SUMS with 409 and reports it corrupt; a listed absent file is missing', async () => {
    const mlc = 'mlc-ai/tiny-MLC';
    const res = await raw(bridge.httpUrl, fileUrl(mlc, 'params_shard_0.bin'));
    expect(res.status).toBe(409);
    const actual = sha256(fixture.files[`${mlc}/params_shard_0.bin`]);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'internal_error', reason: 'corrupt', file: `${mlc}/params_shard_0.bin`, expected_sha256: '0'.repeat(64), actual_sha256: actual });
    expect(res.body.toString()).toContain('params_shard_0.bin');
    const files = (await indexOf(bridge)).repos.find((r) => r.id === mlc)!.files;
    expect(files.find((f) => f.path === 'params_shard_0.bin')).toMatchObject({ status: 'corrupt', sha256: actual, expected_sha256: '0'.repeat(64) });
    expect(files.find((f) => f.path === 'mlc-chat-config.json')).toMatchObject({ status: 'verified' });
    expect(files.find((f) => f.path === 'params_shard_1.bin')).toMatchObject({ status: 'missing', size: null, sha256: null });
    expect((await raw(bridge.httpUrl, fileUrl(mlc, 'params_shard_1.bin'))).status).toBe(404);
    expect((await raw(bridge.httpUrl, fileUrl(mlc, 'mlc-chat-config.json'))).status).toBe(200);
  });

  it('refuses traversal however it is spelled, and never serves what a link outside the folder points to', async () => {
    const attempts: [string, number][] = [
      ['/models/../config', 400],
      ['/models/%2e%2e/secret.txt', 400],
      ['/models/onnx-community/tiny-model/resolve/main/../../../../secret.txt', 400],
      [`/models/onnx-community/tiny-model/resolve/main/..%2f..%2f..%2f..%2fsecret.txt`, 400],
      ['/models/onnx-community/tiny-model/resolve/main/%2fetc%2fpasswd', 400],
      ['/models/onnx-community/tiny-model/resolve/main/..%5c..%5csecret.txt', 400],
      ['/models//etc/passwd', 400],
      ['/models/onnx-community/tiny-model/resolve/main/a%00b', 400],
      ['/models/onnx-community/tiny-model/resolve/main/%E0%A4%A', 400],
      ['/models/onnx-community/tiny-model/resolve/main/leak.txt', 404],
      ['/models/onnx-community/tiny-model/resolve/main/.cache/huggingface/config.json.metadata', 404],
      [`/models/onnx-community/tiny-model/resolve/main/${MIRROR_CACHE_FILE}`, 404],
      ['/models/mlc-ai/tiny-MLC/resolve/main/SHA256SUMS', 404]
    ];
    for (const [path, status] of attempts) {
      const res = await raw(bridge.httpUrl, path);
      expect(res.status, path).toBe(status);
      expect(res.body.toString(), path).not.toContain('TOP SECRET');
      expect(res.headers['content-type'], path).toBe('application/json; charset=utf-8');
    }
  });

  it('answers unknown models, files and revisions with a JSON 404, never the app shell', async () => {
    for (const path of ['/models', '/models/', '/models/nobody/nothing/resolve/main/config.json', fileUrl(repo, 'generation_config.json'), `/models/${repo}/resolve/v2/config.json`, `/models/${repo}`, '/models/libs/none.wasm']) {
      const res = await raw(bridge.httpUrl, path);
      expect(res.status, path).toBe(404);
      expect(res.body.toString(), path).not.toContain('SHELL');
      expect(JSON.parse(res.body.toString()).error, path).toBe('not_found');
    }
    const post = await raw(bridge.httpUrl, fileUrl(repo, 'config.json'), { method: 'POST' });
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD, OPTIONS']);
    const preflight = await raw(bridge.httpUrl, fileUrl(repo, 'config.json'), { method: 'OPTIONS', headers: { 'Access-Control-Request-Private-Network': 'true' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-private-network']).toBe('true');
    expect(preflight.headers['access-control-allow-headers']).toContain('range');
  });

  it('cuts off a whole-file transfer whose bytes changed on disk behind its hash, and refuses the file from then on', async () => {
    const path = join(fixture.models, repo, 'changing.bin');
    const original = fixture.files[`${repo}/changing.bin`];
    const good = await raw(bridge.httpUrl, fileUrl(repo, 'changing.bin'));
    expect(good.body.equals(original)).toBe(true);
    // Same size, same mtime, different bytes: what a failing SD card looks like to stat().
    const flipped = Buffer.from(original);
    flipped[flipped.length - 1] ^= 0xff;
    const handle = await open(path, 'r+');
    await handle.write(flipped, 0, flipped.length, 0);
    await handle.close();
    await utimes(path, FIXED_MTIME_S, FIXED_MTIME_S);
    // Headers may or may not have left before the cut; either way the client never gets the whole body.
    const outcome = await fetch(`${bridge.httpUrl}${fileUrl(repo, 'changing.bin')}`)
      .then((res) => res.arrayBuffer())
      .then(
        () => 'complete',
        () => 'cut'
      );
    expect(outcome).toBe('cut');
    const refused = await raw(bridge.httpUrl, fileUrl(repo, 'changing.bin'));
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body.toString())).toMatchObject({ expected_sha256: sha256(original), actual_sha256: sha256(flipped) });
  });

  it('hashes a file again when its size or mtime changed, answering 503 meanwhile', async () => {
    const path = join(fixture.models, repo, 'tokenizer.json');
    const updated = Buffer.from('{"version":"2.0"}\n');
    await writeFile(path, updated);
    const first = await raw(bridge.httpUrl, fileUrl(repo, 'tokenizer.json'));
    expect(first.status).toBe(503);
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(first.body.toString())).toMatchObject({ reason: 'hashing', file: `${repo}/tokenizer.json` });
    const served = await waitFor(async () => {
      const res = await raw(bridge.httpUrl, fileUrl(repo, 'tokenizer.json'));
      return res.status === 200 ? res : null;
    }, 'tokenizer hashed again');
    expect(served.body.equals(updated)).toBe(true);
    expect(served.headers.etag).toBe(`"sha256-${sha256(updated)}"`);
  });

  it('is readable by the app helper, which verifies what it fetches', async () => {
    const index = (await readMirrorIndex(bridge.httpUrl))!;
    expect(mirrorHas(index, repo, ['config.json', 'onnx/model_q4.onnx'])).toBe(true);
    expect(mirrorHas(index, 'mlc-ai/tiny-MLC')).toBe(false); // one corrupt, one missing
    const res = await verifiedFetch(`${bridge.httpUrl}${fileUrl(repo, 'onnx/model_q4.onnx')}`, { index, bridgeUrl: bridge.httpUrl });
    expect(Buffer.from(await res.arrayBuffer()).equals(fixture.files[model])).toBe(true);
  });
});

describe('model mirror: start-up', () => {
  it('keeps hashes in the cache file, so a restart hashes nothing that did not change', async () => {
    const temp = await makeTempDir();
    try {
      const { models, files } = await writeModels(temp.path);
      const count = Object.keys(files).length + 1; // + the link inside the folder
      const first = await startMirrorBridge(temp.path, models);
      const before = await ready(first);
      await first.close();
      expect(before.hashing).toMatchObject({ files_hashed: count, files_from_cache: 0 });
      const cache = JSON.parse(await readFile(join(models, MIRROR_CACHE_FILE), 'utf8'));
      expect(Object.keys(cache.files)).toHaveLength(count);

      const second = await startMirrorBridge(temp.path, models);
      try {
        // Asked at once, before any hashing could have happened: everything is known already.
        const after = await indexOf(second);
        expect(after.state).toBe('ready');
        expect(after.hashing).toEqual({ files_pending: 0, bytes_pending: 0, files_hashed: 0, bytes_hashed: 0, files_from_cache: count });
        expect(after.repos).toEqual(before.repos);
        expect((await raw(second.httpUrl, '/models/mlc-ai/tiny-MLC/resolve/main/params_shard_0.bin')).status).toBe(409);
      } finally {
        await second.close();
      }
    } finally {
      await temp.remove();
    }
  });

  it('answers 503 with Retry-After for a file still being hashed, and serves the others', async () => {
    const temp = await makeTempDir();
    let bridge: BridgeHandle | null = null;
    try {
      const models = join(temp.path, 'models');
      await mkdir(join(models, 'org/big'), { recursive: true });
      await writeFile(join(models, 'org/big/config.json'), '{}');
      await writeFile(join(models, 'org/big/weights.bin'), '');
      await truncate(join(models, 'org/big/weights.bin'), 2 * 1024 ** 3); // sparse: 2 GiB to hash, nothing on disk
      bridge = await startMirrorBridge(temp.path, models);
      const res = await raw(bridge.httpUrl, '/models/org/big/resolve/main/weights.bin');
      expect(res.status).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'capacity_exceeded', reason: 'hashing', file: 'org/big/weights.bin' });
      const index = await indexOf(bridge);
      expect(index.state).toBe('hashing');
      expect(index.repos[0].files.find((f) => f.path === 'weights.bin')).toMatchObject({ status: 'pending', sha256: null });
      const config = await waitFor(async () => {
        const r = await raw(bridge!.httpUrl, '/models/org/big/resolve/main/config.json');
        return r.status === 200 ? r : null;
      }, 'small file served while the big one hashes');
      expect(config.body.toString()).toBe('{}');
    } finally {
      await bridge?.close(); // stops hashing mid-file; nothing half-hashed is recorded
      const cache = JSON.parse(await readFile(join(temp.path, 'models', MIRROR_CACHE_FILE), 'utf8').catch(() => '{"files":{}}'));
      expect(cache.files['org/big/weights.bin']).toBeUndefined();
      await temp.remove();
    }
  });

  it('fails to start, naming models.dir, when the folder does not exist', async () => {
    const temp = await makeTempDir();
    try {
      await expect(startMirrorBridge(temp.path, join(temp.path, 'nope'))).rejects.toThrow(/model mirror folder .*nope \(models\.dir\): ENOENT/);
    } finally {
      await temp.remove();
    }
  });

  it('without models.dir, answers /models/ with a JSON 404 that says how to enable it', async () => {
    const bridge = await startTestBridge();
    try {
      for (const path of ['/models/index.json', '/models/org/repo/resolve/main/config.json']) {
        const res = await raw(bridge.handle.httpUrl, path);
        expect(res.status, path).toBe(404);
        const body = JSON.parse(res.body.toString());
        expect(body).toMatchObject({ error: 'not_found', reason: 'mirror_disabled' });
        expect(body.message).toContain('models.dir');
        expect(body.message).toContain('--models-dir');
      }
      expect(await readMirrorIndex(bridge.handle.httpUrl)).toBeNull();
    } finally {
      await bridge.close();
    }
  });
});

describe('model mirror: pure parts', () => {
  it('parseModelsPath maps the Hugging Face layout and refuses every traversal spelling', () => {
    expect(parseModelsPath('/models/index.json')).toEqual({ kind: 'index' });
    expect(parseModelsPath('/models/a/b/resolve/main/onnx/model.onnx')).toEqual({ kind: 'file', group: 'a/b', path: 'onnx/model.onnx' });
    expect(parseModelsPath('/models/a/b/resolve/main/my%20file.json')).toEqual({ kind: 'file', group: 'a/b', path: 'my file.json' });
    expect(parseModelsPath('/models/libs/x.wasm')).toEqual({ kind: 'file', group: 'libs', path: 'x.wasm' });
    for (const bad of ['/models/a/b/resolve/main/%2e%2e/x', '/models/a/b/resolve/main/.', '/models/a%2fb/c', '/models/a/b/resolve/main/x/']) {
      expect(parseModelsPath(bad).kind, bad).toBe('bad_path');
    }
    expect(parseModelsPath('/models/a/b/resolve/refs%2Fpr%2F1/x').kind).toBe('bad_path');
    expect(parseModelsPath('/models/a/b/tree/main/x').kind).toBe('not_found');
  });

  it('parseSha256Sums reads sha256sum output in text, binary and --tag form, and skips what could leave the folder', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    const text = [`${a}  ./config.json`, `${b} *onnx/model.onnx`, `SHA256 (tokenizer.json) = ${a}`, '# comment', '', `\\${a}  odd\\nname`, `${a}  ../escape`, `${a}  /etc/passwd`, 'garbage', `${b}  config.json`].join('\r\n');
    const parsed = parseSha256Sums(text);
    expect([...parsed.expected]).toEqual([
      ['config.json', a],
      ['onnx/model.onnx', b.toLowerCase()],
      ['tokenizer.json', a],
      ['odd\nname', a]
    ]);
    expect(parsed.problems.map((p) => p.line)).toEqual([7, 8, 9, 10]);
  });

  it('parseRange follows RFC 9110 for one range and ignores the rest', () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=2-4', 10)).toEqual({ kind: 'part', start: 2, end: 4 });
    expect(parseRange('bytes=8-', 10)).toEqual({ kind: 'part', start: 8, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ kind: 'part', start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ kind: 'part', start: 0, end: 9 });
    expect(parseRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    for (const ignored of ['bytes=4-2', 'items=0-1', 'bytes=0-1,3-4', 'bytes=-', 'bytes=a-b']) expect(parseRange(ignored, 10), ignored).toEqual({ kind: 'whole' });
  });
});

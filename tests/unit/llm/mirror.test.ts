/**
 * src/lib/llm/mirror.ts: the app's view of the bridge's model mirror. URLs are checked against what WebLLM 0.2.86
 * (`cleanModelUrl`) and transformers.js 4 (`remoteHost` + `remotePathTemplate`) build from them; fetch is a fake.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import {
  createVerifiedFetch,
  mirrorFileFor,
  mirrorFileUrl,
  mirrorHas,
  mirrorHasLib,
  mirrorLibUrl,
  mirrorRemoteHost,
  mirrorRepoUrl,
  parseMirrorIndex,
  readMirrorIndex,
  sha256Hex,
  sha256Sri,
  verifiedFetch,
  webLlmIntegrity,
  type FetchFn,
  type MirrorIndex
} from '../../../src/lib/llm/mirror.js';

const BRIDGE = 'https://192.168.1.10:7443';
const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const BODIES: Record<string, string> = {
  'config.json': '{"model_type":"qwen2"}',
  'onnx/model_q4.onnx': 'ONNX-BYTES',
  'mlc-chat-config.json': '{"conv_template":"qwen2"}',
  'tokenizer.json': '{"version":"1.0"}',
  'lib.wasm': '\0asm'
};

function index(over: Partial<MirrorIndex> = {}): MirrorIndex {
  return {
    version: 1,
    state: 'ready',
    hashing: { files_pending: 0, bytes_pending: 0, files_hashed: 6, bytes_hashed: 100, files_from_cache: 0 },
    repos: [
      {
        id: 'onnx-community/Qwen2.5-0.5B-Instruct',
        files: [
          { path: 'config.json', size: 22, sha256: hex(BODIES['config.json']), status: 'hashed' },
          { path: 'onnx/model_q4.onnx', size: 10, sha256: hex(BODIES['onnx/model_q4.onnx']), status: 'verified', expected_sha256: hex(BODIES['onnx/model_q4.onnx']) }
        ]
      },
      {
        id: 'mlc-ai/Qwen2.5-0.5B-Instruct-q4f16_1-MLC',
        files: [
          { path: 'mlc-chat-config.json', size: 25, sha256: hex(BODIES['mlc-chat-config.json']), status: 'hashed' },
          { path: 'tokenizer.json', size: 17, sha256: hex(BODIES['tokenizer.json']), status: 'hashed' },
          { path: 'params_shard_0.bin', size: 5, sha256: null, status: 'pending' }
        ]
      }
    ],
    libs: [{ path: 'Qwen2.5-0.5B-Instruct-q4f16_1-ctx4k_cs1k-webgpu.wasm', size: 4, sha256: hex(BODIES['lib.wasm']), status: 'hashed' }],
    ...over
  };
}

/** A fetch that answers from a table and records what it was asked. */
function fakeFetch(table: Record<string, () => Response>): FetchFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (input: string) => {
    calls.push(input);
    const answer = table[input];
    return answer ? answer() : new Response('{"error":"not_found"}', { status: 404 });
  };
  return Object.assign(fn, { calls });
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(HearthError);
    return (err as HearthError).code;
  }
  throw new Error('expected a HearthError');
}

async function reasonOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(HearthError);
    return (err as HearthError).extra.reason;
  }
  throw new Error('expected a rejection');
}

describe('mirror URLs', () => {
  it('puts everything under <bridge>/models/, whatever the bridge URL looks like', () => {
    for (const bridge of [BRIDGE, `${BRIDGE}/`, `${BRIDGE}/?x=1#y`]) expect(mirrorRemoteHost(bridge)).toBe(`${BRIDGE}/models/`);
    expect(mirrorRemoteHost('http://pi.local:7080/hearth/')).toBe('http://pi.local:7080/hearth/models/');
    expect(codeOf(() => mirrorRemoteHost('not a url'))).toBe('bad_request');
    expect(codeOf(() => mirrorRemoteHost('ftp://pi.local/'))).toBe('bad_request');
  });

  it('gives WebLLM a model URL it turns into <bridge>/models/<org>/<repo>/resolve/main/<file>', () => {
    const repo = 'mlc-ai/Qwen2.5-0.5B-Instruct-q4f16_1-MLC';
    const model = mirrorRepoUrl(BRIDGE, repo);
    expect(model).toBe(`${BRIDGE}/models/${repo}`);
    // WebLLM 0.2.86 cleanModelUrl: add "/", then "resolve/main/" when no /resolve/…/ is present; files are resolved against it.
    let base = model.endsWith('/') ? model : `${model}/`;
    if (!/.+\/resolve\/.+\//.test(base)) base += 'resolve/main/';
    expect(new URL('mlc-chat-config.json', base).href).toBe(mirrorFileUrl(BRIDGE, repo, 'mlc-chat-config.json'));
  });

  it('gives transformers.js a remoteHost its default template turns into the same layout', () => {
    const remoteHost = mirrorRemoteHost(BRIDGE);
    const repo = 'onnx-community/Qwen2.5-0.5B-Instruct';
    // transformers.js 4: pathJoin(remoteHost, '{model}/resolve/{revision}/', filename) with revision 'main'.
    const requested = `${remoteHost}${'{model}/resolve/{revision}/'.replace('{model}', repo).replace('{revision}', 'main')}onnx/model_q4.onnx`;
    expect(requested).toBe(mirrorFileUrl(BRIDGE, repo, 'onnx/model_q4.onnx'));
  });

  it('maps a WebLLM model_lib URL (or bare file name) to the mirror, and refuses names that are not one file', () => {
    const lib = 'Qwen2.5-0.5B-Instruct-q4f16_1-ctx4k_cs1k-webgpu.wasm';
    const expected = `${BRIDGE}/models/libs/${lib}`;
    expect(mirrorLibUrl(BRIDGE, `https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/v0_2_80/${lib}`)).toBe(expected);
    expect(mirrorLibUrl(BRIDGE, lib)).toBe(expected);
    for (const bad of ['', '..', 'https://x/', 'a b.wasm']) expect(codeOf(() => mirrorLibUrl(BRIDGE, bad)), bad).toBe('bad_request');
  });

  it('encodes file paths segment by segment and refuses bad repo ids and traversal', () => {
    expect(mirrorFileUrl(BRIDGE, 'a/b', 'sub dir/x#1.json')).toBe(`${BRIDGE}/models/a/b/resolve/main/sub%20dir/x%231.json`);
    for (const repo of ['a', 'a/b/c', '../b', 'a/..', 'libs/x', 'a/b c', '']) expect(codeOf(() => mirrorRepoUrl(BRIDGE, repo)), repo).toBe('bad_request');
    for (const path of ['../x', 'a//b', '/abs', 'a/./b']) expect(codeOf(() => mirrorFileUrl(BRIDGE, 'a/b', path)), path).toBe('bad_request');
  });

  it('finds the index entry a mirror URL names', () => {
    const i = index();
    expect(mirrorFileFor(i, BRIDGE, mirrorFileUrl(BRIDGE, 'onnx-community/Qwen2.5-0.5B-Instruct', 'onnx/model_q4.onnx'))?.status).toBe('verified');
    expect(mirrorFileFor(i, BRIDGE, mirrorLibUrl(BRIDGE, i.libs[0].path))?.path).toBe(i.libs[0].path);
    expect(mirrorFileFor(i, BRIDGE, 'https://huggingface.co/onnx-community/x/resolve/main/config.json')).toBeNull();
    expect(mirrorFileFor(i, BRIDGE, `${BRIDGE}/models/onnx-community/Qwen2.5-0.5B-Instruct/resolve/v2/config.json`)).toBeNull();
    expect(mirrorFileFor(i, BRIDGE, `${BRIDGE}/models/a/b/resolve/main/%E0%A4%A`)).toBeNull();
  });
});

describe('reading the index', () => {
  it('returns the checked index, and null when the bridge has no mirror', async () => {
    const good = fakeFetch({ [`${BRIDGE}/models/index.json`]: () => Response.json(index()) });
    expect(await readMirrorIndex(`${BRIDGE}/`, good)).toEqual(index());
    expect(good.calls).toEqual([`${BRIDGE}/models/index.json`]);
    expect(await readMirrorIndex(BRIDGE, fakeFetch({}))).toBeNull();
  });

  it('throws when the bridge answers something else or sends a malformed index', async () => {
    const url = `${BRIDGE}/models/index.json`;
    expect(await reasonOf(readMirrorIndex(BRIDGE, fakeFetch({ [url]: () => new Response('', { status: 500 }) })))).toBe('mirror_unavailable');
    expect(await reasonOf(readMirrorIndex(BRIDGE, fakeFetch({ [url]: () => new Response('<html>') })))).toBe('mirror_index_malformed');
    await expect(readMirrorIndex(BRIDGE, async () => Promise.reject(new TypeError('fetch failed')))).rejects.toThrow('fetch failed');
  });

  it.each([
    ['a newer version', { version: 2 }],
    ['an unknown state', { state: 'busy' }],
    ['missing counts', { hashing: {} }],
    ['a repo id with ..', { repos: [{ id: '../x', files: [] }] }],
    ['a repo named libs/…', { repos: [{ id: 'libs/x', files: [] }] }],
    ['a file path with ..', { libs: [{ path: '../x.wasm', size: 1, sha256: null, status: 'pending' }] }],
    ['an unknown status', { libs: [{ path: 'x.wasm', size: 1, sha256: null, status: 'great' }] }],
    ['a servable file without a hash', { libs: [{ path: 'x.wasm', size: 1, sha256: null, status: 'hashed' }] }],
    ['an uppercase hash', { libs: [{ path: 'x.wasm', size: 1, sha256: 'A'.repeat(64), status: 'hashed' }] }],
    ['a negative size', { libs: [{ path: 'x.wasm', size: -1, sha256: null, status: 'pending' }] }]
  ])('refuses an index with %s', (_, over) => {
    expect(() => parseMirrorIndex({ ...index(), ...over })).toThrow(/model index is malformed/);
  });
});

describe('what the mirror has', () => {
  const onnx = 'onnx-community/Qwen2.5-0.5B-Instruct';
  const mlc = 'mlc-ai/Qwen2.5-0.5B-Instruct-q4f16_1-MLC';

  it('has a repo when every file asked for (default: all) is hashed or verified', () => {
    expect(mirrorHas(index(), onnx)).toBe(true);
    expect(mirrorHas(index(), onnx, ['onnx/model_q4.onnx'])).toBe(true);
    expect(mirrorHas(index(), mlc)).toBe(false); // a shard is still pending
    expect(mirrorHas(index(), mlc, ['mlc-chat-config.json', 'tokenizer.json'])).toBe(true);
    expect(mirrorHas(index(), onnx, ['onnx/model_fp16.onnx'])).toBe(false);
    expect(mirrorHas(index(), 'someone/else')).toBe(false);
    expect(mirrorHas(null, onnx)).toBe(false);
  });

  it('does not have a corrupt, missing or unreadable file', () => {
    for (const status of ['corrupt', 'missing', 'unreadable'] as const) {
      const i = index();
      i.repos[0].files[0] = { ...i.repos[0].files[0], status };
      expect(mirrorHas(i, onnx), status).toBe(false);
    }
  });

  it('has a model library by file name or original URL', () => {
    expect(mirrorHasLib(index(), `https://example.org/v0_2_80/${index().libs[0].path}`)).toBe(true);
    expect(mirrorHasLib(index(), 'Other-webgpu.wasm')).toBe(false);
  });

  it('turns hashes into the SRI strings WebLLM checks', async () => {
    expect(sha256Sri(hex('abc'))).toBe('sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
    expect(codeOf(() => sha256Sri('xyz'))).toBe('bad_request');
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(hex('abc'));
    expect(webLlmIntegrity(index(), mlc, index().libs[0].path)).toEqual({
      onFailure: 'error',
      config: sha256Sri(hex(BODIES['mlc-chat-config.json'])),
      tokenizer: { 'tokenizer.json': sha256Sri(hex(BODIES['tokenizer.json'])) },
      model_lib: sha256Sri(hex(BODIES['lib.wasm']))
    });
    expect(webLlmIntegrity(index(), 'nobody/here')).toEqual({ onFailure: 'error' });
  });
});

describe('verified fetching', () => {
  const onnx = 'onnx-community/Qwen2.5-0.5B-Instruct';
  const url = mirrorFileUrl(BRIDGE, onnx, 'onnx/model_q4.onnx');
  const headers = { 'content-type': 'application/octet-stream', etag: `"sha256-${hex(BODIES['onnx/model_q4.onnx'])}"` };

  it('hands on a body whose SHA-256 matches the index, with its status and headers', async () => {
    const res = await verifiedFetch(url, { index: index(), bridgeUrl: BRIDGE, fetchFn: fakeFetch({ [url]: () => new Response(BODIES['onnx/model_q4.onnx'], { headers }) }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(await res.text()).toBe(BODIES['onnx/model_q4.onnx']);
  });

  it('refuses a body that does not match', async () => {
    const fetchFn = fakeFetch({ [url]: () => new Response('ONNX-BYTEZ', { headers }) });
    expect(await reasonOf(verifiedFetch(url, { index: index(), bridgeUrl: BRIDGE, fetchFn }))).toBe('mirror_digest_mismatch');
  });

  it('checks a file the index still lists as pending against the ETag the bridge sent, and refuses one with neither', async () => {
    const shard = mirrorFileUrl(BRIDGE, 'mlc-ai/Qwen2.5-0.5B-Instruct-q4f16_1-MLC', 'params_shard_0.bin');
    const ok = fakeFetch({ [shard]: () => new Response('SHARD', { headers: { etag: `"sha256-${hex('SHARD')}"` } }) });
    expect(await (await verifiedFetch(shard, { index: index(), bridgeUrl: BRIDGE, fetchFn: ok })).text()).toBe('SHARD');
    const bad = fakeFetch({ [shard]: () => new Response('SHARD', { headers: { etag: `"sha256-${hex('OTHER')}"` } }) });
    expect(await reasonOf(verifiedFetch(shard, { index: index(), bridgeUrl: BRIDGE, fetchFn: bad }))).toBe('mirror_digest_mismatch');
    const none = fakeFetch({ [shard]: () => new Response('SHARD') });
    expect(await reasonOf(verifiedFetch(shard, { index: index(), bridgeUrl: BRIDGE, fetchFn: none }))).toBe('mirror_unverified');
  });

  it('passes on answers without a whole body unchecked (206, 503, 404)', async () => {
    for (const status of [206, 503, 404]) {
      const fetchFn = fakeFetch({ [url]: () => new Response('x', { status }) });
      expect((await verifiedFetch(url, { index: index(), bridgeUrl: BRIDGE, fetchFn })).status).toBe(status);
    }
  });

  it('createVerifiedFetch checks mirror URLs and leaves every other request alone', async () => {
    const elsewhere = 'https://huggingface.co/onnx-community/x/resolve/main/config.json';
    const fetchFn = fakeFetch({ [url]: () => new Response('ONNX-BYTEZ', { headers }), [elsewhere]: () => new Response('anything') });
    const verifying = createVerifiedFetch(BRIDGE, index(), fetchFn);
    expect(await (await verifying(new URL(elsewhere))).text()).toBe('anything');
    expect(await reasonOf(verifying(url))).toBe('mirror_digest_mismatch');
    expect(fetchFn.calls).toEqual([elsewhere, url]);
  });
});

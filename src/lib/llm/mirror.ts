/**
 * The bridge's model mirror, seen from the app (relay/README.md "Model mirror"): read `/models/index.json`, decide
 * whether the mirror holds a model, build the URLs WebLLM and transformers.js should load from, and check that
 * bytes received match the SHA-256 the index lists. Browser-safe: fetch and WebCrypto only, no Node imports.
 *
 * Layout (Hugging Face's, which both engines request):
 *   GET <bridge>/models/index.json
 *   GET <bridge>/models/<org>/<repo>/resolve/main/<file path>   transformers.js: env.remoteHost = mirrorRemoteHost(bridge)
 *                                                               WebLLM: model record `model` = mirrorRepoUrl(bridge, repo)
 *   GET <bridge>/models/libs/<file>.wasm                        WebLLM: `model_lib` = mirrorLibUrl(bridge, original model_lib)
 *
 * The bridge is untrusted (DESIGN §3.12): the index is checked for shape before use. The digest check protects against
 * bytes damaged on disk or in transit and against a file replaced after the index was read, not against a lying bridge
 * (index and bytes come from the same place).
 */
import { HearthError } from '../core/errors.js';

export const MIRROR_INDEX_VERSION = 1;
/** The only revision a mirror holds; a request for another answers 404. */
export const MIRROR_REVISION = 'main';
/** WebLLM model libraries live under this name instead of an `<org>`. */
export const MIRROR_LIBS_DIR = 'libs';

/**
 * - `pending`: not hashed yet (the bridge answers 503 with Retry-After);
 * - `hashed`: SHA-256 known, nothing to compare it with; `verified`: matched the operator's SHA256SUMS;
 * - `corrupt`: bytes differ from SHA256SUMS, or changed on disk after hashing (409, never served);
 * - `missing`: listed in SHA256SUMS but not on disk; `unreadable`: the bridge could not read it.
 */
export const MIRROR_FILE_STATUSES = ['pending', 'hashed', 'verified', 'corrupt', 'missing', 'unreadable'] as const;
export type MirrorFileStatus = (typeof MIRROR_FILE_STATUSES)[number];
const SERVABLE: ReadonlySet<MirrorFileStatus> = new Set(['hashed', 'verified']);

export interface MirrorFile {
  /** Path inside the repo (or the file name in `libs`), with `/` separators. */
  path: string;
  /** null for `missing`. */
  size: number | null;
  /** Lowercase hex of the bytes on disk; null until hashed. For `corrupt`, what the bytes actually hash to. */
  sha256: string | null;
  status: MirrorFileStatus;
  /** From the operator's SHA256SUMS (or the hash first recorded, for a file that changed on disk). */
  expected_sha256?: string;
}

export interface MirrorRepo {
  /** `<org>/<repo>`, e.g. `onnx-community/Qwen2.5-0.5B-Instruct`. */
  id: string;
  files: MirrorFile[];
}

export interface MirrorIndex {
  version: typeof MIRROR_INDEX_VERSION;
  /** `hashing` while any file is `pending`. */
  state: 'hashing' | 'ready';
  hashing: {
    files_pending: number;
    bytes_pending: number;
    /** Hashed by this bridge process (start-up, changed files); files whose hash came from the cache are not counted. */
    files_hashed: number;
    bytes_hashed: number;
    /** Taken from `<dir>/.hearthnet-mirror.json` (same path, size and mtime) at start-up. */
    files_from_cache: number;
  };
  repos: MirrorRepo[];
  libs: MirrorFile[];
}

/** What WebLLM's `ModelRecord.integrity` accepts (structurally; this module does not import WebLLM). */
export interface WebLlmIntegrity {
  config?: string;
  model_lib?: string;
  tokenizer?: Record<string, string>;
  onFailure?: 'error' | 'warn';
}

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

const HEX64 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9_.-]+$/;

function badIndex(why: string): HearthError {
  return new HearthError('internal_error', `the bridge's model index is malformed: ${why}`, { extra: { reason: 'mirror_index_malformed' } });
}

function parseFile(value: unknown, where: string): MirrorFile {
  if (!value || typeof value !== 'object') throw badIndex(`${where} is not an object`);
  const f = value as Record<string, unknown>;
  if (typeof f.path !== 'string' || f.path === '' || f.path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw badIndex(`${where}.path is not a relative path`);
  if (!(MIRROR_FILE_STATUSES as readonly unknown[]).includes(f.status)) throw badIndex(`${where}.status is ${JSON.stringify(f.status)}`);
  if (f.size !== null && !(typeof f.size === 'number' && Number.isSafeInteger(f.size) && f.size >= 0)) throw badIndex(`${where}.size is not a byte count`);
  if (f.sha256 !== null && !(typeof f.sha256 === 'string' && HEX64.test(f.sha256))) throw badIndex(`${where}.sha256 is not 64 lowercase hex digits`);
  if (f.expected_sha256 !== undefined && !(typeof f.expected_sha256 === 'string' && HEX64.test(f.expected_sha256))) throw badIndex(`${where}.expected_sha256 is not 64 lowercase hex digits`);
  const status = f.status as MirrorFileStatus;
  if (SERVABLE.has(status) && f.sha256 === null) throw badIndex(`${where} is ${status} without a sha256`);
  const file: MirrorFile = { path: f.path, size: f.size as number | null, sha256: f.sha256 as string | null, status };
  if (f.expected_sha256 !== undefined) file.expected_sha256 = f.expected_sha256 as string;
  return file;
}

/** Checks the shape of a parsed `/models/index.json`; throws `internal_error` (reason `mirror_index_malformed`). */
export function parseMirrorIndex(value: unknown): MirrorIndex {
  if (!value || typeof value !== 'object') throw badIndex('not an object');
  const v = value as Record<string, unknown>;
  if (v.version !== MIRROR_INDEX_VERSION) throw badIndex(`version ${JSON.stringify(v.version)} (this app reads ${MIRROR_INDEX_VERSION})`);
  if (v.state !== 'hashing' && v.state !== 'ready') throw badIndex(`state is ${JSON.stringify(v.state)}`);
  const h = v.hashing as Record<string, unknown> | undefined;
  const counts = ['files_pending', 'bytes_pending', 'files_hashed', 'bytes_hashed', 'files_from_cache'] as const;
  if (!h || typeof h !== 'object' || counts.some((k) => !(typeof h[k] === 'number' && Number.isSafeInteger(h[k]) && (h[k] as number) >= 0))) throw badIndex('hashing counts are missing');
  if (!Array.isArray(v.repos) || !Array.isArray(v.libs)) throw badIndex('repos and libs must be arrays');
  const repos = v.repos.map((r: unknown, i): MirrorRepo => {
    const repo = r as Record<string, unknown> | null;
    if (!repo || typeof repo.id !== 'string' || !isRepoId(repo.id)) throw badIndex(`repos[${i}].id is not <org>/<repo>`);
    if (!Array.isArray(repo.files)) throw badIndex(`repos[${i}].files is not an array`);
    return { id: repo.id, files: repo.files.map((f: unknown, j) => parseFile(f, `repos[${i}].files[${j}]`)) };
  });
  const libs = v.libs.map((f: unknown, i) => parseFile(f, `libs[${i}]`));
  const hashing = Object.fromEntries(counts.map((k) => [k, h[k] as number])) as MirrorIndex['hashing'];
  return { version: MIRROR_INDEX_VERSION, state: v.state, hashing, repos, libs };
}

function isRepoId(id: string): boolean {
  const parts = id.split('/');
  return parts.length === 2 && parts.every((p) => NAME.test(p) && p !== '.' && p !== '..') && parts[0] !== MIRROR_LIBS_DIR;
}

function checkRepoId(repo: string): void {
  if (!isRepoId(repo)) throw new HearthError('bad_request', `a mirrored model is named <org>/<repo> (letters, digits, "-", "_", "."; not "libs/…"), not ${JSON.stringify(repo)}`);
}

/** `<bridge>/models/`, the prefix every mirror URL starts with. Also transformers.js's `env.remoteHost`. */
export function mirrorRemoteHost(bridgeUrl: string): string {
  let url: URL;
  try {
    url = new URL(bridgeUrl);
  } catch {
    throw new HearthError('bad_request', `the bridge URL ${JSON.stringify(bridgeUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HearthError('bad_request', `the bridge URL must be http(s), not ${url.protocol}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}/models/`;
}

/** What a WebLLM model record's `model` should be; WebLLM appends `/resolve/main/` and the file name itself. */
export function mirrorRepoUrl(bridgeUrl: string, repo: string): string {
  checkRepoId(repo);
  return mirrorRemoteHost(bridgeUrl) + repo;
}

/** The URL of one file of a mirrored repo; `path` uses `/` separators. */
export function mirrorFileUrl(bridgeUrl: string, repo: string, path: string): string {
  checkRepoId(repo);
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new HearthError('bad_request', `${JSON.stringify(path)} is not a relative file path`);
  return `${mirrorRemoteHost(bridgeUrl)}${repo}/resolve/${MIRROR_REVISION}/${segments.map(encodeURIComponent).join('/')}`;
}

/**
 * Where the mirror serves a WebLLM model library. Takes the file name or the record's original `model_lib` URL
 * (e.g. `https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/v0_2_80/X-webgpu.wasm`).
 */
export function mirrorLibUrl(bridgeUrl: string, libFile: string): string {
  return `${mirrorRemoteHost(bridgeUrl)}${MIRROR_LIBS_DIR}/${encodeURIComponent(libFileName(libFile))}`;
}

function libFileName(libFile: string): string {
  const name = libFile.split(/[?#]/, 1)[0].split('/').pop() ?? '';
  if (!NAME.test(name) || name === '.' || name === '..') throw new HearthError('bad_request', `${JSON.stringify(libFile)} does not name a model library file`);
  return name;
}

const isServable = (file: MirrorFile | null | undefined): file is MirrorFile & { sha256: string } => file != null && SERVABLE.has(file.status) && file.sha256 !== null;

/**
 * True when the mirror can serve `repo` now: every listed file (default: every file of the repo) is hashed or
 * verified. False while any of them is pending, corrupt, missing or unreadable, or the repo is not there.
 */
export function mirrorHas(index: MirrorIndex | null, repo: string, files?: readonly string[]): boolean {
  const found = index?.repos.find((r) => r.id === repo);
  if (!found || found.files.length === 0) return false;
  if (!files) return found.files.every(isServable);
  const byPath = new Map(found.files.map((f) => [f.path, f]));
  return files.every((path) => isServable(byPath.get(path)));
}

/** True when the mirror can serve this WebLLM model library now (file name or original `model_lib` URL). */
export function mirrorHasLib(index: MirrorIndex | null, libFile: string): boolean {
  const name = libFileName(libFile);
  return isServable(index?.libs.find((f) => f.path === name));
}

/**
 * Reads `<bridge>/models/index.json`. null when the bridge has no mirror (404); throws when the bridge cannot be
 * reached, answers something else, or sends a malformed index.
 */
export async function readMirrorIndex(bridgeUrl: string, fetchFn: FetchFn = (input, init) => fetch(input, init)): Promise<MirrorIndex | null> {
  const res = await fetchFn(`${mirrorRemoteHost(bridgeUrl)}index.json`, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new HearthError('internal_error', `the bridge's model index answered ${res.status}`, { extra: { reason: 'mirror_unavailable' } });
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw badIndex('not JSON');
  }
  return parseMirrorIndex(json);
}

/** `sha256-<base64>`, the form Subresource Integrity and WebLLM's `integrity` use. */
export function sha256Sri(hex: string): string {
  if (!HEX64.test(hex)) throw new HearthError('bad_request', `${JSON.stringify(hex)} is not a SHA-256 in hex`);
  let binary = '';
  for (let i = 0; i < 64; i += 2) binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return `sha256-${btoa(binary)}`;
}

/**
 * WebLLM's own check (ModelRecord.integrity) for what it verifies itself: `mlc-chat-config.json`, the tokenizer files
 * and the model library. Other files (weight shards, ONNX files) rely on the bridge's check while serving (it hashes
 * each whole-file answer as it sends it); `createVerifiedFetch` can check them in the browser too, but the app does not
 * use it yet, because it reads each file whole before handing it on.
 */
export function webLlmIntegrity(index: MirrorIndex, repo: string, libFile?: string): WebLlmIntegrity {
  const files = new Map((index.repos.find((r) => r.id === repo)?.files ?? []).map((f) => [f.path, f]));
  const integrity: WebLlmIntegrity = { onFailure: 'error' };
  const config = files.get('mlc-chat-config.json');
  if (isServable(config)) integrity.config = sha256Sri(config.sha256);
  const tokenizer: Record<string, string> = {};
  for (const name of ['tokenizer.json', 'tokenizer.model', 'vocab.json', 'merges.txt', 'added_tokens.json', 'tokenizer_config.json']) {
    const file = files.get(name);
    if (isServable(file)) tokenizer[name] = sha256Sri(file.sha256);
  }
  if (Object.keys(tokenizer).length > 0) integrity.tokenizer = tokenizer;
  if (libFile !== undefined) {
    const lib = index.libs.find((f) => f.path === libFileName(libFile));
    if (isServable(lib)) integrity.model_lib = sha256Sri(lib.sha256);
  }
  return integrity;
}

/** The index entry a mirror URL names, or null when `url` is not a file URL of this bridge's mirror. */
export function mirrorFileFor(index: MirrorIndex, bridgeUrl: string, url: string): MirrorFile | null {
  const prefix = mirrorRemoteHost(bridgeUrl);
  if (!url.startsWith(prefix)) return null;
  let segments: string[];
  try {
    segments = url.slice(prefix.length).split(/[?#]/, 1)[0].split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
  if (segments[0] === MIRROR_LIBS_DIR && segments.length === 2) return index.libs.find((f) => f.path === segments[1]) ?? null;
  if (segments.length < 5 || segments[2] !== 'resolve' || segments[3] !== MIRROR_REVISION) return null;
  const repo = index.repos.find((r) => r.id === `${segments[0]}/${segments[1]}`);
  const path = segments.slice(4).join('/');
  return repo?.files.find((f) => f.path === path) ?? null;
}

/** Lowercase hex SHA-256 of `bytes` (WebCrypto). */
export async function sha256Hex(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

function digestFromHeaders(headers: Headers): string | null {
  const etag = /^"sha256-([0-9a-f]{64})"$/.exec(headers.get('etag') ?? '');
  return etag ? etag[1] : null;
}

/**
 * Fetches one mirror file and checks its body against the index before handing it on (as a fresh Response with the
 * same status and headers). A file the index does not list as servable is checked against the ETag the bridge sent,
 * so a file hashed after the index was read still loads. Responses that carry no whole body (304, 206, errors) are
 * passed on unchecked. Throws `internal_error` with reason `mirror_digest_mismatch` when the bytes differ. The whole
 * body is held in memory once: WebCrypto has no streaming digest.
 */
export async function verifiedFetch(url: string, options: { index: MirrorIndex; bridgeUrl: string; fetchFn?: FetchFn; init?: RequestInit }): Promise<Response> {
  const fetchFn = options.fetchFn ?? ((input, init) => fetch(input, init));
  const file = mirrorFileFor(options.index, options.bridgeUrl, url);
  const res = await fetchFn(url, options.init);
  if (res.status !== 200) return res;
  const expected = isServable(file) ? file.sha256 : digestFromHeaders(res.headers);
  if (expected === null) {
    await res.body?.cancel();
    throw new HearthError('internal_error', `${url} has no SHA-256 in the mirror index or its ETag; refusing unverified bytes`, { extra: { reason: 'mirror_unverified' } });
  }
  const body = await res.arrayBuffer();
  const actual = await sha256Hex(body);
  if (actual !== expected) {
    throw new HearthError('internal_error', `${url}: the bytes received hash to ${actual}, the mirror lists ${expected} (read the index again, or ask the bridge operator)`, {
      extra: { reason: 'mirror_digest_mismatch' }
    });
  }
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/**
 * A fetch for an engine's loader (transformers.js `env.fetch`, or a wrapper around WebLLM's): URLs of this bridge's
 * mirror go through `verifiedFetch`, everything else straight to `fetchFn`.
 */
export function createVerifiedFetch(bridgeUrl: string, index: MirrorIndex, fetchFn: FetchFn = (input, init) => fetch(input, init)): (input: string | URL, init?: RequestInit) => Promise<Response> {
  const prefix = mirrorRemoteHost(bridgeUrl);
  return (input, init) => {
    const url = typeof input === 'string' ? input : input.href;
    if (!url.startsWith(prefix) || (init?.method ?? 'GET').toUpperCase() !== 'GET') return fetchFn(url, init);
    return verifiedFetch(url, { index, bridgeUrl, fetchFn, init });
  };
}

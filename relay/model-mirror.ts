/**
 * The bridge's model mirror (issue 5 item 3): a folder of model files in Hugging Face layout, each file's SHA-256
 * known before it is served. `ModelMirror.open` scans the folder (model-mirror-scan.ts), takes the hashes it already
 * knows from `<dir>/.hearthnet-mirror.json` (keyed by path, size and mtime, so a restart is instant) and hashes the
 * rest in the background, one file at a time, smallest first (configs and tokenizers are ready within moments).
 * A file still being hashed is `pending` and is not served; one whose bytes differ from the operator's SHA256SUMS is
 * `corrupt` and is never served. HTTP lives in model-mirror-http.ts.
 */
import { constants as fsConstants, type ReadStream } from 'node:fs';
import { open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { MIRROR_INDEX_VERSION, MIRROR_LIBS_DIR, type MirrorFile, type MirrorFileStatus, type MirrorIndex } from '../src/lib/llm/mirror.js';
import { scanMirrorDir, type ScannedFile } from './model-mirror-scan.js';
import { SUMS_FILE_NAME } from './model-mirror-sums.js';

export const MIRROR_CACHE_FILE = '.hearthnet-mirror.json';
/** Read size while hashing; large reads keep a Pi's SD card streaming. */
export const HASH_READ_BYTES = 1024 * 1024;
/** During a long first hashing run the cache file is rewritten at most this often, so a crash loses little work. */
export const CACHE_PERSIST_INTERVAL_MS = 5000;
/** A file that changed while it was hashed is hashed again after this pause (it may still be being written). */
export const CHANGED_RETRY_MS = 1000;
/** Bounds of the Retry-After given for a file still pending. */
export const RETRY_AFTER_MIN_SECONDS = 1;
export const RETRY_AFTER_MAX_SECONDS = 3600;
/** Assumed before the first file has been hashed (a Raspberry Pi 4 hashes at roughly this rate). */
const ASSUMED_HASH_BYTES_PER_SECOND = 100 * 1024 * 1024;

interface Entry extends ScannedFile {
  key: string;
  sha256: string | null;
  expected: string | null;
  status: Exclude<MirrorFileStatus, 'missing'>;
}

export type MirrorLookup =
  | { kind: 'not_found'; message: string }
  | { kind: 'pending'; file: string; retryAfterSeconds: number }
  | { kind: 'corrupt'; file: string; expected: string; actual: string }
  | { kind: 'unreadable'; file: string }
  | {
      kind: 'ready';
      file: string;
      size: number;
      sha256: string;
      /** Open on the verified file; the caller streams from it and closes it. */
      handle: FileHandle;
      /** The caller hashed what it sent and got something else: the file changed on disk without its mtime changing. */
      reportMismatch(actual: string): void;
    };

interface CacheRecord {
  size: number;
  mtime_ms: number;
  sha256: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

function parseCache(text: string): Map<string, CacheRecord> {
  const doc = JSON.parse(text) as { version?: unknown; files?: unknown };
  const out = new Map<string, CacheRecord>();
  if (doc?.version !== 1 || !doc.files || typeof doc.files !== 'object') return out;
  for (const [key, value] of Object.entries(doc.files as Record<string, Partial<CacheRecord>>)) {
    if (value && typeof value.size === 'number' && typeof value.mtime_ms === 'number' && typeof value.sha256 === 'string' && HEX64.test(value.sha256)) {
      out.set(key, { size: value.size, mtime_ms: value.mtime_ms, sha256: value.sha256 });
    }
  }
  return out;
}

export interface ModelMirrorOptions {
  dir: string;
  logger: Logger;
}

export class ModelMirror {
  private readonly entries = new Map<string, Entry>();
  /** `<org>/<repo>` of every repo found, for telling "no such model" from "no such file". */
  private readonly groups = new Set<string>();
  private readonly queue: Entry[] = [];
  private current: { entry: Entry; bytesDone: number; stream: ReadStream | null } | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private dirty = false;
  private lastPersistMs = 0;
  private cacheWritable = true;
  private readonly stats = { filesHashed: 0, bytesHashed: 0, filesFromCache: 0, hashingMs: 0 };

  private constructor(
    readonly root: string,
    private readonly expected: Map<string, Map<string, string>>,
    private readonly log: Logger
  ) {}

  /** Scans `dir` and starts hashing in the background. Throws when `dir` cannot be read at all. */
  static async open(options: ModelMirrorOptions): Promise<ModelMirror> {
    let scan;
    try {
      scan = await scanMirrorDir(options.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new Error(`cannot open the model mirror folder ${options.dir} (models.dir): ${code}`);
    }
    const mirror = new ModelMirror(scan.root, scan.expected, options.logger);
    for (const w of scan.warnings) options.logger.warn(w.fields, w.msg);
    const cache = await mirror.readCache();
    for (const file of scan.files) {
      const key = `${file.group}/${file.path}`;
      const entry: Entry = { ...file, key, sha256: null, expected: scan.expected.get(file.group)?.get(file.path) ?? null, status: 'pending' };
      mirror.entries.set(key, entry);
      mirror.groups.add(file.group);
      const cached = cache.get(key);
      if (cached && cached.size === file.size && cached.mtime_ms === file.mtimeMs) {
        entry.sha256 = cached.sha256;
        mirror.stats.filesFromCache++;
        mirror.settle(entry);
      } else {
        mirror.queue.push(entry);
      }
    }
    // Smallest first: configs and tokenizers are ready at once, weights follow.
    mirror.queue.sort((a, b) => a.size - b.size || (a.key < b.key ? -1 : 1));
    for (const [group, paths] of scan.expected) {
      for (const path of paths.keys()) {
        if (!mirror.entries.has(`${group}/${path}`)) options.logger.warn({ group, path }, `listed in ${SUMS_FILE_NAME} but not in the model mirror`);
      }
    }
    options.logger.info(
      { dir: scan.root, files: mirror.entries.size, bytes: scan.files.reduce((n, f) => n + f.size, 0), from_cache: mirror.stats.filesFromCache, to_hash: mirror.queue.length },
      'model mirror open'
    );
    if (mirror.queue.length > 0) mirror.kick();
    else mirror.dirty = cache.size !== mirror.entries.size; // drop records of files that are gone
    if (mirror.dirty) await mirror.persist();
    return mirror;
  }

  /** Everything the mirror holds, for `GET /models/index.json`. */
  index(): MirrorIndex {
    const repos = new Map<string, MirrorFile[]>();
    const libs: MirrorFile[] = [];
    const add = (group: string, file: MirrorFile) => {
      if (group === MIRROR_LIBS_DIR) return void libs.push(file);
      const files = repos.get(group);
      if (files) files.push(file);
      else repos.set(group, [file]);
    };
    for (const e of this.entries.values()) {
      const file: MirrorFile = { path: e.path, size: e.size, sha256: e.sha256, status: e.status };
      if (e.expected !== null) file.expected_sha256 = e.expected;
      add(e.group, file);
    }
    for (const [group, paths] of this.expected) {
      for (const [path, hex] of paths) if (!this.entries.has(`${group}/${path}`)) add(group, { path, size: null, sha256: null, status: 'missing', expected_sha256: hex });
    }
    const byPath = (a: MirrorFile, b: MirrorFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    const pending = [...this.entries.values()].filter((e) => e.status === 'pending');
    return {
      version: MIRROR_INDEX_VERSION,
      state: pending.length > 0 ? 'hashing' : 'ready',
      hashing: {
        files_pending: pending.length,
        bytes_pending: pending.reduce((n, e) => n + e.size, 0),
        files_hashed: this.stats.filesHashed,
        bytes_hashed: this.stats.bytesHashed,
        files_from_cache: this.stats.filesFromCache
      },
      repos: [...repos.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, files]) => ({ id, files: files.sort(byPath) })),
      libs: libs.sort(byPath)
    };
  }

  /** Looks up `<group>/<path>` for serving; a `ready` answer holds an open file whose size and mtime are as hashed. */
  async acquire(group: string, path: string): Promise<MirrorLookup> {
    const key = `${group}/${path}`;
    const entry = this.entries.get(key);
    if (!entry) {
      if (this.expected.get(group)?.has(path)) return { kind: 'not_found', message: `${key} is listed in ${SUMS_FILE_NAME} but is not in the mirror` };
      const known = group === MIRROR_LIBS_DIR || this.groups.has(group);
      return { kind: 'not_found', message: known ? `the mirror has no file ${path} in ${group}` : `the mirror has no model ${group}` };
    }
    if (entry.status === 'corrupt') return { kind: 'corrupt', file: key, expected: entry.expected!, actual: entry.sha256! };
    if (entry.status === 'unreadable') return { kind: 'unreadable', file: key };
    if (entry.status === 'pending') return this.pendingAnswer(entry);
    let handle: FileHandle;
    try {
      // realPath has every link resolved; O_NOFOLLOW refuses a link put in its place since the scan.
      handle = await open(entry.realPath, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.entries.delete(key);
        this.dirty = true;
        this.log.warn({ file: key }, 'a mirrored file was deleted');
        return { kind: 'not_found', message: `the mirror has no file ${path} in ${group}` };
      }
      entry.status = 'unreadable';
      this.log.error({ file: key, code: (err as NodeJS.ErrnoException).code }, 'cannot open a mirrored file');
      return { kind: 'unreadable', file: key };
    }
    const info = await handle.stat();
    if (info.size !== entry.size || info.mtimeMs !== entry.mtimeMs) {
      await handle.close();
      this.log.info({ file: key }, 'a mirrored file changed on disk; hashing it again');
      entry.status = 'pending';
      entry.sha256 = null;
      Object.assign(entry, { size: info.size, mtimeMs: info.mtimeMs });
      return this.pendingAnswer(entry);
    }
    return {
      kind: 'ready',
      file: key,
      size: entry.size,
      sha256: entry.sha256!,
      handle,
      reportMismatch: (actual) => {
        if (entry.status === 'corrupt' || entry.sha256 === actual) return;
        this.log.error({ file: key, expected: entry.sha256, actual }, 'a mirrored file no longer matches its hash (changed on disk with the same size and mtime: a disk error?); it is refused until replaced');
        entry.expected ??= entry.sha256;
        entry.sha256 = actual;
        entry.status = 'corrupt';
        this.dirty = true;
      }
    };
  }

  /** Resolves when nothing is waiting to be hashed (tests, benchmarks). */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.current?.stream?.destroy();
    await this.whenIdle();
    if (this.dirty) await this.persist();
  }

  private pendingAnswer(entry: Entry): MirrorLookup {
    // Someone is waiting for this one: it goes next.
    const at = this.queue.indexOf(entry);
    if (at > 0) this.queue.splice(at, 1);
    if (at !== 0 && this.current?.entry !== entry) this.queue.unshift(entry);
    this.kick();
    const rate = this.stats.hashingMs > 0 && this.stats.bytesHashed > 0 ? (this.stats.bytesHashed * 1000) / this.stats.hashingMs : ASSUMED_HASH_BYTES_PER_SECOND;
    const ahead = (this.current ? this.current.entry.size - this.current.bytesDone : 0) + (this.current?.entry === entry ? 0 : entry.size);
    const seconds = Math.ceil(ahead / rate);
    return { kind: 'pending', file: entry.key, retryAfterSeconds: Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(RETRY_AFTER_MIN_SECONDS, seconds)) };
  }

  private settle(entry: Entry): void {
    if (entry.expected === null) {
      entry.status = 'hashed';
    } else if (entry.expected === entry.sha256) {
      entry.status = 'verified';
    } else {
      entry.status = 'corrupt';
      this.log.error({ file: entry.key, expected: entry.expected, actual: entry.sha256 }, `a mirrored file does not match ${SUMS_FILE_NAME}; it will not be served`);
    }
  }

  private kick(): void {
    if (this.running || this.closed) return;
    this.running = this.runQueue().finally(() => {
      this.running = null;
    });
  }

  private async runQueue(): Promise<void> {
    const startedFiles = this.stats.filesHashed;
    const startedBytes = this.stats.bytesHashed;
    const startedMs = performance.now();
    while (!this.closed) {
      const entry = this.queue.shift();
      if (!entry) break;
      if (entry.status !== 'pending') continue;
      this.current = { entry, bytesDone: 0, stream: null };
      const t0 = performance.now();
      try {
        const hashed = await this.hashFile(entry);
        this.stats.hashingMs += performance.now() - t0;
        if (hashed === 'changed') {
          this.queue.push(entry);
          await new Promise((resolve) => setTimeout(resolve, CHANGED_RETRY_MS).unref());
          continue;
        }
        Object.assign(entry, hashed);
        this.stats.filesHashed++;
        this.stats.bytesHashed += hashed.size;
        this.settle(entry);
        this.dirty = true;
      } catch (err) {
        if (this.closed) break;
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          this.entries.delete(entry.key);
          this.log.warn({ file: entry.key }, 'a mirrored file was deleted');
        } else {
          entry.status = 'unreadable';
          this.log.error({ file: entry.key, code: (err as NodeJS.ErrnoException).code, err }, 'cannot read a mirrored file; it will not be served');
        }
        this.dirty = true;
      } finally {
        this.current = null;
      }
      if (this.dirty && Date.now() - this.lastPersistMs >= CACHE_PERSIST_INTERVAL_MS) await this.persist();
    }
    if (this.dirty) await this.persist();
    if (this.closed) return;
    const ms = performance.now() - startedMs;
    const bytes = this.stats.bytesHashed - startedBytes;
    this.log.info({ files: this.stats.filesHashed - startedFiles, bytes, seconds: Math.round(ms) / 1000, mib_per_second: ms > 0 ? Math.round(bytes / 1048.576 / ms) : null }, 'model mirror hashed');
  }

  private async hashFile(entry: Entry): Promise<{ sha256: string; size: number; mtimeMs: number } | 'changed'> {
    const handle = await open(entry.realPath, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
    try {
      const before = await handle.stat();
      const hash = createHash('sha256');
      const stream = handle.createReadStream({ highWaterMark: HASH_READ_BYTES, autoClose: false });
      if (this.current) this.current.stream = stream;
      let bytes = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        if (this.current) this.current.bytesDone = bytes;
      }
      // A read cut short (close() destroys the stream) must never be recorded as the file's hash.
      if (this.closed) throw new Error('model mirror closed while hashing');
      const after = await handle.stat();
      if (bytes !== before.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs) return 'changed';
      return { sha256: hash.digest('hex'), size: before.size, mtimeMs: before.mtimeMs };
    } finally {
      await handle.close();
    }
  }

  private async readCache(): Promise<Map<string, CacheRecord>> {
    const path = join(this.root, MIRROR_CACHE_FILE);
    try {
      return parseCache(await readFile(path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ path, err }, 'the model mirror hash cache is unreadable; hashing every file again');
      return new Map();
    }
  }

  /** Rewrites the cache file atomically (temporary file, then rename). A read-only folder only costs a warning. */
  private async persist(): Promise<void> {
    this.dirty = false;
    this.lastPersistMs = Date.now();
    if (!this.cacheWritable) return;
    const files: Record<string, CacheRecord> = {};
    for (const e of this.entries.values()) if (e.sha256 !== null) files[e.key] = { size: e.size, mtime_ms: e.mtimeMs, sha256: e.sha256 };
    const path = join(this.root, MIRROR_CACHE_FILE);
    const temp = `${path}.${process.pid}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify({ version: 1, files })}\n`);
      await rename(temp, path);
    } catch (err) {
      this.cacheWritable = false;
      this.log.warn({ path, code: (err as NodeJS.ErrnoException).code }, 'cannot write the model mirror hash cache; every start will hash every file again');
    }
  }
}

/**
 * Finds what a model mirror folder holds: `<dir>/<org>/<repo>/<file path>` (Hugging Face layout) and
 * `<dir>/libs/<file>.wasm` (WebLLM model libraries), plus each folder's `SHA256SUMS`. Names starting with a dot are
 * skipped (`.cache/` that `huggingface-cli download --local-dir` leaves, `.git`, `.gitattributes`, our own cache file).
 * A symbolic link is followed only when its target is inside the folder; one pointing outside is skipped with a
 * warning, so the mirror can never serve a file from elsewhere. Requests are answered from this list only: no
 * request path ever reaches the file system.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, isAbsolute, sep } from 'node:path';
import { MIRROR_LIBS_DIR } from '../src/lib/llm/mirror.js';
import { parseSha256Sums, SUMS_FILE_NAME } from './model-mirror-sums.js';

/** Most files one mirror lists; past it the rest are skipped with a warning (docs/LIMITS.md). */
export const MAX_MIRROR_FILES = 100_000;
/** Deepest folder nesting inside a repo that is walked. */
export const MAX_MIRROR_DEPTH = 16;

export interface ScannedFile {
  /** `<org>/<repo>` or `libs`. */
  group: string;
  /** Path inside the group, `/`-separated. */
  path: string;
  /** Absolute path with every symbolic link resolved (inside the mirror folder). */
  realPath: string;
  size: number;
  mtimeMs: number;
}

export interface ScanResult {
  root: string;
  files: ScannedFile[];
  /** group → path → expected hex, from that group's SHA256SUMS. */
  expected: Map<string, Map<string, string>>;
  warnings: { msg: string; fields: Record<string, unknown> }[];
}

const isInside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

export async function scanMirrorDir(dir: string): Promise<ScanResult> {
  const root = await realpath(dir);
  if (!(await stat(root)).isDirectory()) throw new Error(`${dir} is not a folder`);
  const result: ScanResult = { root, files: [], expected: new Map(), warnings: [] };
  const warn = (msg: string, fields: Record<string, unknown>) => result.warnings.push({ msg, fields });
  const visitedDirs = new Set<string>([root]);
  let full = false;

  /** The entry's real path and kind, or null when it must be skipped. */
  const resolveEntry = async (parent: string, entry: Dirent): Promise<{ real: string; kind: 'file' | 'dir'; size: number; mtimeMs: number } | null> => {
    let real = join(parent, entry.name);
    if (entry.isSymbolicLink()) {
      try {
        real = await realpath(real);
      } catch {
        warn('broken symbolic link in the model mirror; skipped', { path: join(parent, entry.name) });
        return null;
      }
      if (!isInside(root, real)) {
        warn('symbolic link points outside models.dir; not served', { path: join(parent, entry.name), target: real });
        return null;
      }
    }
    try {
      const info = await stat(real);
      if (info.isFile()) return { real, kind: 'file', size: info.size, mtimeMs: info.mtimeMs };
      if (info.isDirectory()) return { real, kind: 'dir', size: 0, mtimeMs: info.mtimeMs };
    } catch (err) {
      warn('cannot read an entry of the model mirror; skipped', { path: real, code: (err as NodeJS.ErrnoException).code });
    }
    return null;
  };

  const list = async (path: string): Promise<Dirent[]> => {
    try {
      const entries = await readdir(path, { withFileTypes: true });
      return entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      warn('cannot list a folder of the model mirror; skipped', { path, code: (err as NodeJS.ErrnoException).code });
      return [];
    }
  };

  const addFile = (group: string, path: string, found: { real: string; size: number; mtimeMs: number }) => {
    if (result.files.length >= MAX_MIRROR_FILES) {
      if (!full) warn(`the model mirror lists at most ${MAX_MIRROR_FILES} files; the rest are not served`, { group });
      full = true;
      return;
    }
    result.files.push({ group, path, realPath: found.real, size: found.size, mtimeMs: found.mtimeMs });
  };

  const readSums = async (group: string, groupDir: string) => {
    let text: string;
    try {
      text = await readFile(join(groupDir, SUMS_FILE_NAME), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${SUMS_FILE_NAME}; its files are served without a check`, { group, code: (err as NodeJS.ErrnoException).code });
      return;
    }
    const parsed = parseSha256Sums(text);
    for (const problem of parsed.problems) warn(`${SUMS_FILE_NAME} line skipped: ${problem.reason}`, { group, line: problem.line });
    result.expected.set(group, parsed.expected);
  };

  const walk = async (group: string, dirPath: string, prefix: string, depth: number): Promise<void> => {
    for (const entry of await list(dirPath)) {
      if (full) return;
      if (depth === 0 && entry.name === SUMS_FILE_NAME) continue;
      const found = await resolveEntry(dirPath, entry);
      if (!found) continue;
      const path = prefix + entry.name;
      if (found.kind === 'file') {
        addFile(group, path, found);
        continue;
      }
      if (visitedDirs.has(found.real)) continue; // a link back up: walking it again would never end
      if (depth + 1 > MAX_MIRROR_DEPTH) {
        warn(`folders nested deeper than ${MAX_MIRROR_DEPTH} are not served`, { group, path });
        continue;
      }
      visitedDirs.add(found.real);
      await walk(group, found.real, `${path}/`, depth + 1);
    }
  };

  for (const top of await list(root)) {
    const found = await resolveEntry(root, top);
    if (!found || found.kind !== 'dir') continue; // loose files at the top (a README) are not part of any repo
    if (top.name === MIRROR_LIBS_DIR) {
      for (const entry of await list(found.real)) {
        if (!entry.name.endsWith('.wasm')) continue;
        const lib = await resolveEntry(found.real, entry);
        if (lib?.kind === 'file') addFile(MIRROR_LIBS_DIR, entry.name, lib);
      }
      await readSums(MIRROR_LIBS_DIR, found.real);
      continue;
    }
    for (const repoEntry of await list(found.real)) {
      const repo = await resolveEntry(found.real, repoEntry);
      if (!repo || repo.kind !== 'dir' || visitedDirs.has(repo.real)) continue;
      visitedDirs.add(repo.real);
      const group = `${top.name}/${repoEntry.name}`;
      await walk(group, repo.real, '', 0);
      await readSums(group, repo.real);
    }
  }
  return result;
}

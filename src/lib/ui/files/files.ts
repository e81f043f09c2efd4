/**
 * Pure helpers for the Files page: sizes and speeds people read, share links, what a file's local state says, and
 * a media type for a picked file the browser could not name. No node code; relative imports so unit tests load it.
 */
import type { FileView, TransferView } from '../../client/api.js';

const CID_PATTERN = /^blake3:[0-9a-f]{64}$/;
const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
/** Names longer than this in a share link are cut: the name is only a label, the CID is what finds the file. */
export const SHARE_NAME_MAX_CHARS = 200;

/** "0 B", "812 B", "1.5 KB", "12 MB", "3.2 GB" (powers of 1024; one decimal below 10 units). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown} ${SIZE_UNITS[unit]}`;
}

/** Download speed in MB/s (10^6 bytes, as speeds are usually given): "2.4 MB/s", "0.05 MB/s", "—" before any chunk. */
export function formatSpeed(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '—';
  const mbps = bytesPerSecond / 1_000_000;
  const digits = mbps >= 10 ? 0 : mbps >= 1 ? 1 : 2;
  return `${mbps.toFixed(digits)} MB/s`;
}

/** Whole percent done, 0..100; a file of zero bytes is done once the transfer is. */
export function transferPercent(transfer: Pick<TransferView, 'bytesDone' | 'bytesTotal' | 'phase'>): number {
  if (transfer.bytesTotal <= 0) return transfer.phase === 'done' ? 100 : 0;
  return Math.max(0, Math.min(100, Math.floor((transfer.bytesDone / transfer.bytesTotal) * 100)));
}

/** "blake3:1a2b3c4d…9f0e": enough to tell files apart at a glance; the copy button gives the whole CID. */
export function shortCid(cid: string): string {
  const body = cid.startsWith('blake3:') ? cid.slice('blake3:'.length) : cid;
  return body.length > 14 ? `${body.slice(0, 8)}…${body.slice(-4)}` : body;
}

export const isFileCid = (value: unknown): value is string => typeof value === 'string' && CID_PATTERN.test(value);

/** A link that opens this page showing the file at the top: `/files?cid=…&name=…`. */
export function shareLink(origin: string, cid: string, name: string): string {
  const query = new URLSearchParams({ cid });
  if (name) query.set('name', name.slice(0, SHARE_NAME_MAX_CHARS));
  return `${origin}/files?${query.toString()}`;
}

/** The file a share link points at, or null when the link carries no valid CID. */
export function sharedFileFrom(search: URLSearchParams): { cid: string; name: string } | null {
  const cid = search.get('cid')?.trim().toLowerCase() ?? '';
  if (!isFileCid(cid)) return null;
  return { cid, name: (search.get('name') ?? '').slice(0, SHARE_NAME_MAX_CHARS) };
}

/** What "here" means for a file: every chunk, some (an interrupted download), or none. */
export function localLabel(file: Pick<FileView, 'local' | 'chunksHeld' | 'chunksTotal'>): string {
  if (file.local === 'complete') return 'Complete';
  if (file.local === 'partial') return `Partial: ${file.chunksHeld} of ${file.chunksTotal} chunks`;
  return 'Not here';
}

const MEDIA_BY_EXTENSION: Readonly<Record<string, string>> = {
  pdf: 'application/pdf',
  md: 'text/markdown',
  markdown: 'text/markdown',
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html',
  htm: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  webm: 'video/webm',
  zip: 'application/zip'
};

/** The browser's type for a picked file, else one from its extension (browsers leave Markdown untyped), else bytes. */
export function mediaTypeFor(name: string, browserType: string): string {
  if (browserType) return browserType;
  const extension = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  return MEDIA_BY_EXTENSION[extension] ?? 'application/octet-stream';
}

/** The name to save under: the known name, else the short CID (a file announced without a name). */
export function saveName(file: { name: string; cid: string }): string {
  return file.name.trim() || shortCid(file.cid).replace('…', '-');
}

/**
 * Files in the order the table shows them: the one a share link names first, then the ones held here, newest first.
 */
export function orderFiles(files: readonly FileView[], pinnedCid: string | null): FileView[] {
  const rank = (file: FileView) => (file.cid === pinnedCid ? 0 : file.local === 'none' ? 2 : 1);
  return [...files].sort((a, b) => rank(a) - rank(b) || b.addedAt - a.addedAt || a.name.localeCompare(b.name));
}

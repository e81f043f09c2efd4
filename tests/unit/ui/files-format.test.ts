import { describe, expect, it } from 'vitest';
import type { FileView } from '../../../src/lib/client/api.js';
import {
  formatBytes,
  formatSpeed,
  isFileCid,
  localLabel,
  mediaTypeFor,
  orderFiles,
  saveName,
  shareLink,
  sharedFileFrom,
  shortCid,
  transferPercent
} from '../../../src/lib/ui/files/files.js';

const CID = `blake3:${'ab'.repeat(32)}`;

function file(cid: string, extra: Partial<FileView> = {}): FileView {
  return { cid, name: 'f', mediaType: '', sizeBytes: 1, addedAt: 0, local: 'none', chunksHeld: 0, chunksTotal: 1, holders: [], ...extra };
}

describe('sizes and speeds', () => {
  it('formats bytes in powers of 1024', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(12 * 1024 * 1024)).toBe('12 MB');
    expect(formatBytes(3.25 * 1024 ** 3)).toBe('3.3 GB');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });

  it('formats speed in MB/s, a dash before the first chunk', () => {
    expect(formatSpeed(0)).toBe('—');
    expect(formatSpeed(50_000)).toBe('0.05 MB/s');
    expect(formatSpeed(2_400_000)).toBe('2.4 MB/s');
    expect(formatSpeed(12_600_000)).toBe('13 MB/s');
  });

  it('computes whole percent, clamped', () => {
    expect(transferPercent({ bytesDone: 1, bytesTotal: 3, phase: 'fetching' })).toBe(33);
    expect(transferPercent({ bytesDone: 5, bytesTotal: 3, phase: 'fetching' })).toBe(100);
    expect(transferPercent({ bytesDone: 0, bytesTotal: 0, phase: 'done' })).toBe(100);
    expect(transferPercent({ bytesDone: 0, bytesTotal: 0, phase: 'fetching' })).toBe(0);
  });
});

describe('CIDs and share links', () => {
  it('shortens a CID', () => {
    expect(shortCid(CID)).toBe('abababab…abab');
    expect(isFileCid(CID)).toBe(true);
    expect(isFileCid('blake3:xyz')).toBe(false);
  });

  it('round-trips a share link', () => {
    const link = shareLink('https://hearth.local', CID, 'Water & food.pdf');
    expect(link.startsWith('https://hearth.local/files?cid=')).toBe(true);
    expect(sharedFileFrom(new URL(link).searchParams)).toEqual({ cid: CID, name: 'Water & food.pdf' });
    expect(sharedFileFrom(new URLSearchParams('cid=nope'))).toBeNull();
    expect(sharedFileFrom(new URLSearchParams(`cid=${CID.toUpperCase().replace('BLAKE3', 'blake3')}`))?.name).toBe('');
  });
});

describe('file labels and order', () => {
  it('says what this device holds', () => {
    expect(localLabel({ local: 'complete', chunksHeld: 4, chunksTotal: 4 })).toBe('Complete');
    expect(localLabel({ local: 'partial', chunksHeld: 2, chunksTotal: 5 })).toBe('Partial: 2 of 5 chunks');
    expect(localLabel({ local: 'none', chunksHeld: 0, chunksTotal: 5 })).toBe('Not here');
  });

  it('names untyped files by extension', () => {
    expect(mediaTypeFor('notes.MD', '')).toBe('text/markdown');
    expect(mediaTypeFor('a.pdf', 'application/pdf')).toBe('application/pdf');
    expect(mediaTypeFor('blob', '')).toBe('application/octet-stream');
  });

  it('saves an unnamed file under its short CID', () => {
    expect(saveName({ name: '', cid: CID })).toBe('abababab-abab');
    expect(saveName({ name: 'map.png', cid: CID })).toBe('map.png');
  });

  it('puts the linked file first, then files held here, newest first', () => {
    const a = file('a', { local: 'none', addedAt: 3 });
    const b = file('b', { local: 'complete', addedAt: 1 });
    const c = file('c', { local: 'partial', addedAt: 2 });
    const d = file('d', { local: 'none', addedAt: 9 });
    expect(orderFiles([a, b, c, d], 'a').map((f) => f.cid)).toEqual(['a', 'c', 'b', 'd']);
    expect(orderFiles([a, b, c, d], null).map((f) => f.cid)).toEqual(['c', 'b', 'd', 'a']);
  });
});

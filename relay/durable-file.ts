/**
 * Crash-safe file writes for the bridge's stores: a temp file beside the target, written and fsynced, then renamed
 * over it, and the directory fsynced, so a reader sees the old content or the new, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

/** Temp files carry this mark; stores delete leftovers with it at open (a crash between write and rename). */
export const TEMP_MARK = '.tmp-';

export async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const temp = `${path}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (err) {
    // A full disk fails here: the half-written temp file would otherwise stay until the store next opens.
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The bridge's own Ed25519 device key: a 32-byte seed at `<data_dir>/keys/device.ed25519`, mode 0600, made on
 * first run. Its full NodeID is the bridge's identity in challenges, /health, /manifest and mDNS.
 */
import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { keyPairFromSeed, randomSeed, type KeyPair } from '../src/lib/core/index.js';

export const DEVICE_KEY_FILE = join('keys', 'device.ed25519');
const SEED_BYTES = 32;

export interface DeviceKey {
  keyPair: KeyPair;
  path: string;
  created: boolean;
  /** e.g. permissions that were too open and have been tightened. */
  warnings: string[];
}

/**
 * Writes the seed to a private temporary file, flushes it, then hard-links it into place. link() fails if the
 * key already exists, so two bridges starting on one data_dir cannot both create a key, and a crash mid-write
 * never leaves a truncated key under the real name.
 */
async function createSeedFile(path: string): Promise<boolean> {
  const temp = `${path}.tmp-${randomUUID()}`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(randomSeed());
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

export async function loadOrCreateDeviceKey(dataDir: string): Promise<DeviceKey> {
  const path = join(dataDir, DEVICE_KEY_FILE);
  await mkdir(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  const warnings: string[] = [];
  let created = false;
  try {
    await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    created = await createSeedFile(path);
  }
  const info = await stat(path);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    await chmod(path, 0o600);
    warnings.push(`device key ${path} was readable by others (mode ${(info.mode & 0o777).toString(8)}); tightened to 600`);
  }
  const seed = new Uint8Array(await readFile(path));
  if (seed.length !== SEED_BYTES) {
    throw new Error(`device key ${path} must hold exactly ${SEED_BYTES} bytes (has ${seed.length}); move it away to make a new identity`);
  }
  return { keyPair: await keyPairFromSeed(seed), path, created, warnings };
}

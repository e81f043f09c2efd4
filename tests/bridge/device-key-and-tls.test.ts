import { X509Certificate } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFullNodeId, keyPairFromSeed } from '../../src/lib/core/index.js';
import { DEVICE_KEY_FILE, loadOrCreateDeviceKey } from '../../relay/device-key.js';
import { loadTlsMaterial } from '../../relay/tls.js';
import { makeTempDir } from './helpers.js';

let temp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  temp = await makeTempDir();
});
afterEach(() => temp.remove());

describe('device key', () => {
  it('creates a 32-byte seed with mode 0600 on first run and keeps the same identity after', async () => {
    const first = await loadOrCreateDeviceKey(temp.path);
    expect(first.created).toBe(true);
    expect(first.path).toBe(join(temp.path, DEVICE_KEY_FILE));
    expect(isFullNodeId(first.keyPair.nodeId)).toBe(true);
    const info = await stat(first.path);
    expect(info.size).toBe(32);
    expect(info.mode & 0o777).toBe(0o600);

    const second = await loadOrCreateDeviceKey(temp.path);
    expect(second.created).toBe(false);
    expect(second.keyPair.nodeId).toBe(first.keyPair.nodeId);
    const fromSeed = await keyPairFromSeed(new Uint8Array(await readFile(first.path)));
    expect(fromSeed.nodeId).toBe(first.keyPair.nodeId);
  });

  it('gives one identity to concurrent first starts on the same data_dir', async () => {
    const results = await Promise.all([1, 2, 3].map(() => loadOrCreateDeviceKey(temp.path)));
    expect(new Set(results.map((r) => r.keyPair.nodeId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('tightens a key file readable by others, and refuses one of the wrong size', async () => {
    const { path } = await loadOrCreateDeviceKey(temp.path);
    await chmod(path, 0o644);
    const loose = await loadOrCreateDeviceKey(temp.path);
    expect(loose.warnings[0]).toMatch(/readable by others .* tightened to 600/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    await writeFile(path, Buffer.alloc(31));
    await expect(loadOrCreateDeviceKey(temp.path)).rejects.toThrow(/must hold exactly 32 bytes \(has 31\)/);
  });
});

describe('TLS material', () => {
  it('generates a self-signed certificate with LAN names once, then reuses it', async () => {
    const options = { tlsCert: null, tlsKey: null, dataDir: temp.path, commonName: 'HearthNet bridge test' };
    const first = await loadTlsMaterial(options);
    expect(first.source).toBe('generated');
    const cert = new X509Certificate(first.cert);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect((await stat(join(temp.path, 'tls', 'key.pem'))).mode & 0o777).toBe(0o600);

    const second = await loadTlsMaterial(options);
    expect(second.source).toBe('reused');
    expect(second.cert).toBe(first.cert);
  });

  it('regenerates when the key on disk does not belong to the certificate', async () => {
    const options = { tlsCert: null, tlsKey: null, dataDir: temp.path, commonName: 'x' };
    const first = await loadTlsMaterial(options);
    const other = await loadTlsMaterial({ ...options, dataDir: join(temp.path, 'other') });
    await writeFile(join(temp.path, 'tls', 'key.pem'), other.key);
    const again = await loadTlsMaterial(options);
    expect(again.source).toBe('generated');
    expect(again.cert).not.toBe(first.cert);
  });

  it("uses the operator's certificate and key when given", async () => {
    const made = await loadTlsMaterial({ tlsCert: null, tlsKey: null, dataDir: temp.path, commonName: 'op' });
    const certPath = join(temp.path, 'op-cert.pem');
    const keyPath = join(temp.path, 'op-key.pem');
    await writeFile(certPath, made.cert);
    await writeFile(keyPath, made.key);
    const loaded = await loadTlsMaterial({ tlsCert: certPath, tlsKey: keyPath, dataDir: join(temp.path, 'unused'), commonName: 'op' });
    expect(loaded).toMatchObject({ source: 'operator', cert: made.cert, key: made.key, certPath });
  });
});

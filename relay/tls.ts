/**
 * TLS material for the HTTPS listener. Phones only give the app a secure context (service worker, WebCrypto,
 * camera) over https, so the bridge always has a certificate: the operator's, or a self-signed one it makes
 * into `<data_dir>/tls/` on first run and renews when it is about to expire.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
  source: 'operator' | 'generated' | 'reused';
  certPath: string;
}

const VALIDITY_DAYS = 397; // the longest lifetime browsers accept for a server certificate
const RENEW_WITHIN_DAYS = 14;
const DAY_MS = 86_400_000;

function subjectAltNames(): { type: 2 | 7; value?: string; ip?: string }[] {
  const names = new Set(['localhost', hostname(), `${hostname().split('.')[0]}.local`]);
  const ips = new Set(['127.0.0.1']);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4') ips.add(a.address);
  }
  return [...[...names].map((value) => ({ type: 2 as const, value })), ...[...ips].map((ip) => ({ type: 7 as const, ip }))];
}

async function generateSelfSigned(commonName: string): Promise<{ cert: string; key: string }> {
  const now = Date.now();
  const result = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - DAY_MS),
    notAfterDate: new Date(now + VALIDITY_DAYS * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: subjectAltNames() }
    ]
  });
  return { cert: result.cert, key: result.private };
}

/** Not about to expire, and the key on disk is the certificate's own. */
function reusable(certPem: string, keyPem: string, nowMs: number): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return Date.parse(cert.validTo) - nowMs > RENEW_WITHIN_DAYS * DAY_MS && cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text, { mode });
  await rename(temp, path);
}

export async function loadTlsMaterial(options: { tlsCert: string | null; tlsKey: string | null; dataDir: string; commonName: string }): Promise<TlsMaterial> {
  if (options.tlsCert && options.tlsKey) {
    const [cert, key] = await Promise.all([readFile(options.tlsCert, 'utf8'), readFile(options.tlsKey, 'utf8')]);
    return { cert, key, source: 'operator', certPath: options.tlsCert };
  }
  const dir = join(options.dataDir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const [cert, key] = await Promise.all([readIfPresent(certPath), readIfPresent(keyPath)]);
  if (cert && key && reusable(cert, key, Date.now())) return { cert, key, source: 'reused', certPath };

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fresh = await generateSelfSigned(options.commonName);
  // A crash between the two writes leaves a pair that does not match; reusable() notices and we start over.
  await writeAtomically(keyPath, fresh.key, 0o600);
  await writeAtomically(certPath, fresh.cert, 0o644);
  return { ...fresh, source: 'generated', certPath };
}

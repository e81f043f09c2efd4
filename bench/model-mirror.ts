/**
 * The bridge's model mirror against the raw primitives, in the same run (STYLE 11), on one 64 MiB file:
 * - start-up hashing: ModelMirror.open until idle vs `fs.createReadStream` alone and with SHA-256 (no mirror);
 *   then a restart with the hash cache;
 * - serving over HTTP on loopback: the bridge's `/models/…` (whole GET, hashed again while sent; and `Range: bytes=0-`,
 *   the same bytes without that check) vs a bare `http` server piping `fs.createReadStream` into the response.
 * The file was just written, so reads come from the page cache: this measures CPU cost, not the disk.
 * Run: `npx tsx bench/model-mirror.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridge } from '../relay/bridge.js';
import { loadConfig } from '../relay/config.js';
import { silentLogger } from '../relay/logger.js';
import { MIRROR_CACHE_FILE, ModelMirror } from '../relay/model-mirror.js';
import { printTable } from './table.js';

const FILE_BYTES = 64 * 1024 * 1024;
const ROUNDS = 9;
const MIB = 1024 * 1024;

const dir = await mkdtemp(join(tmpdir(), 'hearthnet-mirror-bench-'));
const models = join(dir, 'models');
const repoDir = join(models, 'bench-org', 'bench-model');
const filePath = join(repoDir, 'model.onnx');
await mkdir(repoDir, { recursive: true });
await writeFile(filePath, randomBytes(FILE_BYTES));

async function median(run: () => Promise<number>): Promise<number> {
  await run(); // warm-up: page cache, JIT, connections
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) samples.push(await run());
  return samples.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await action();
  return performance.now() - t0;
}

const readRaw = () =>
  timed(async () => {
    for await (const _ of createReadStream(filePath, { highWaterMark: MIB })) void _;
  });
const readAndHash = () =>
  timed(async () => {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(filePath, { highWaterMark: MIB })) hash.update(chunk as Buffer);
    hash.digest();
  });
const mirrorFirstStart = () =>
  timed(async () => {
    await rm(join(models, MIRROR_CACHE_FILE), { force: true });
    const mirror = await ModelMirror.open({ dir: models, logger: silentLogger() });
    await mirror.whenIdle();
    await mirror.close();
  });
const mirrorRestart = () =>
  timed(async () => {
    const mirror = await ModelMirror.open({ dir: models, logger: silentLogger() });
    if (mirror.index().state !== 'ready') throw new Error('the cache was not used');
    await mirror.close();
  });

const rate = (ms: number) => FILE_BYTES / MIB / (ms / 1000);
const tRead = await median(readRaw);
const tHash = await median(readAndHash);
const tFirst = await median(mirrorFirstStart);
const tRestart = await median(mirrorRestart);
printTable(
  `start-up hashing of one ${FILE_BYTES / MIB} MiB file (page cache warm), median of ${ROUNDS}`,
  ['what', 'ms', 'MiB/s', 'vs read+sha256'],
  [
    ['fs.createReadStream, read only', tRead, rate(tRead), tHash / tRead],
    ['fs.createReadStream + sha256 (the primitive)', tHash, rate(tHash), 1],
    ['ModelMirror.open until hashed (first start)', tFirst, rate(tFirst), tHash / tFirst],
    ['ModelMirror.open with the hash cache (restart)', tRestart, '-', '-']
  ]
);

/** Downloads `path` from `base`, discarding the bytes; returns ms and checks the length. */
function download(base: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return timed(
    () =>
      new Promise<void>((resolve, reject) => {
        get(`${base}${path}`, { headers }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => (bytes += chunk.length));
          res.on('end', () => (bytes === FILE_BYTES && (res.statusCode === 200 || res.statusCode === 206) ? resolve() : reject(new Error(`got ${res.statusCode}, ${bytes} bytes`))));
          res.on('error', reject);
        }).on('error', reject);
      })
  );
}

// `/` reads with the default 64 KiB chunks, `/1mib` with the mirror's 1 MiB.
const raw: Server = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': FILE_BYTES });
  createReadStream(filePath, req.url === '/1mib' ? { highWaterMark: MIB } : {}).pipe(res);
});
await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', () => resolve()));
const rawBase = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;

const config = loadConfig({
  argv: ['--host', '127.0.0.1', '--port', '0', '--https-port', '0', '--no-mdns', '--log-level', 'silent', '--data-dir', join(dir, 'data'), '--app-dir', join(dir, 'app'), '--models-dir', models],
  env: {},
  cwd: dir
});
const bridge = await startBridge(config, { logger: silentLogger() });
const path = '/models/bench-org/bench-model/resolve/main/model.onnx';
for (;;) {
  const index = (await (await fetch(`${bridge.httpUrl}/models/index.json`)).json()) as { state: string };
  if (index.state === 'ready') break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}

// Interleaved round by round, so load from anything else on the machine falls on every variant alike.
const variants = [() => download(rawBase, '/'), () => download(rawBase, '/1mib'), () => download(bridge.httpUrl, path), () => download(bridge.httpUrl, path, { Range: 'bytes=0-' })];
const samples: number[][] = variants.map(() => []);
for (const run of variants) await run(); // warm-up
for (let round = 0; round < ROUNDS; round++) for (const [i, run] of variants.entries()) samples[i].push(await run());
const [tRaw, tRaw1, tMirror, tMirrorRange] = samples.map((s) => s.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]);
printTable(
  `serving one ${FILE_BYTES / MIB} MiB file over loopback HTTP, median of ${ROUNDS}`,
  ['server', 'ms', 'MiB/s', 'vs raw pipe'],
  [
    ['http + fs.createReadStream().pipe(res) (raw)', tRaw, rate(tRaw), 1],
    ['the same with 1 MiB reads', tRaw1, rate(tRaw1), tRaw / tRaw1],
    ['bridge /models/, whole file (hashed while sent)', tMirror, rate(tMirror), tRaw / tMirror],
    ['bridge /models/, Range bytes=0- (no re-hash)', tMirrorRange, rate(tMirrorRange), tRaw / tMirrorRange]
  ]
);

await bridge.close();
await new Promise((resolve) => raw.close(resolve));
await rm(dir, { recursive: true, force: true });

/**
 * Blob layer speed, each next to the raw primitive in the same run:
 *  - BLAKE3 over 64 MiB in 256 KiB chunks: hash-wasm (the bulk path) against @noble/hashes (the fallback), ratio.
 *  - BlobStore.add (chunk + hash + store + manifest + pin) of 64 MiB into MemoryChunkStore and DiskChunkStore
 *    (temp dir; every chunk fsynced, then its directory), against hashing alone.
 * Median of 3 rounds after a warm-up. Run: `npx tsx bench/blobs.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore, MemoryChunkStore, chunksOf, nobleHasher, wasmHasher, type Blake3Hasher, type ChunkStore } from '../src/lib/blobs/index.js';
import { DiskChunkStore } from '../relay/disk-chunk-store.js';
import { printTable } from './table.js';

const MIB = 1024 * 1024;
const SIZE = 64 * MIB;
const ROUNDS = 3;
const data = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 31 + 7) % 251;

async function median(run: () => Promise<unknown> | unknown): Promise<number> {
  await run();
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[1];
}

const mibPerSecond = (ms: number) => SIZE / MIB / (ms / 1000);

async function hashAll(hasher: Blake3Hasher): Promise<void> {
  for await (const chunk of chunksOf(data)) hasher.cid(chunk);
}

const wasm = await wasmHasher();
const noble = nobleHasher();
const wasmMs = await median(() => hashAll(wasm));
const nobleMs = await median(() => hashAll(noble));
printTable('BLAKE3, 64 MiB in 256 KiB chunks', ['backend', 'ms', 'MiB/s', 'x noble'], [
  ['hash-wasm', wasmMs, mibPerSecond(wasmMs), nobleMs / wasmMs],
  ['@noble/hashes', nobleMs, mibPerSecond(nobleMs), 1]
]);

const dir = mkdtempSync(join(tmpdir(), 'hearthnet-bench-blobs-'));
let fresh = 0;
async function addInto(open: () => Promise<ChunkStore>): Promise<number> {
  return median(async () => {
    const blobs = await BlobStore.open(await open(), { hasher: wasm });
    await blobs.add(data);
  });
}
try {
  const memoryMs = await addInto(async () => new MemoryChunkStore());
  const diskMs = await addInto(() => DiskChunkStore.open(join(dir, `store-${++fresh}`)));
  printTable('BlobStore.add of 64 MiB (chunk + hash + store + manifest + pin)', ['store', 'ms', 'MiB/s', 'x hashing alone'], [
    ['hash-wasm only (raw)', wasmMs, mibPerSecond(wasmMs), 1],
    ['MemoryChunkStore', memoryMs, mibPerSecond(memoryMs), memoryMs / wasmMs],
    ['DiskChunkStore (fsync each)', diskMs, mibPerSecond(diskMs), diskMs / wasmMs]
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

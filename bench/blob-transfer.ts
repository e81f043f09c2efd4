/**
 * Blob transfer between two real browser nodes over WebRTC against a raw data-channel pump between the same two
 * pages, in the same run (issue target: product ≥ 0.8× raw). Needs the built app and a private network namespace:
 *   npx vite build --logLevel error && bash tests/netns-run.sh npx tsx bench/blob-transfer.ts
 *
 * Per size, each round (in alternating order):
 *   raw     — an RTCDataChannel of its own between the two pages' main threads. A sends N bytes in 64 KiB messages,
 *             holding back while bufferedAmount is over 1 MiB and resuming on bufferedamountlow (256 KiB), as DESIGN
 *             §3.5 asks of senders; B counts bytes until N. Time from A's first send to B's last byte (both pages
 *             read one clock: performance.timeOrigin + performance.now()).
 *   product — A adds N fresh random bytes with `hearthnet.api().addFile` (nothing cached anywhere), B waits until
 *             A's file.advertise named A as a holder, then times from its page's `downloadFile(cid)` call to the
 *             transfer's end. The end is read off the finished transfer (`startedAt` plus its duration, which its
 *             average speed gives: library-node.ts), on the same wall clock (Date.now in page and worker), so the poll
 *             of `files()` that notices it can be slow (POLL_MS) and cheap: a fast poll costs the downloading worker
 *             a few per cent of its CPU. B's `readFile` must hash (SHA-256) to what A added.
 * Both pages show Home meanwhile: the Mesh page animates every call, which costs CPU that neither transfer needs.
 * Medians over BENCH_ROUNDS rounds after one warm-up round of the first size; product/raw is the ratio of speeds.
 *
 * BENCH_SIZES in MiB (default "5,32"), BENCH_ROUNDS (default 7), HEARTHNET_APP_DIR to serve another build.
 */
import { chromium, type Page } from '@playwright/test';
import { CHROMIUM_ARGS } from '../playwright.config.js';
import { startBridge, removeDataDir } from '../tests/e2e/bridge-process.js';
import { printTable } from './table.js';

const MIB = 1024 * 1024;
const SIZES_MIB = (process.env.BENCH_SIZES ?? '5,32').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const MESSAGE_BYTES = 64 * 1024;
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;
const POLL_MS = 50;

type Api = {
  addFile(file: { name: string; mediaType: string; bytes: Uint8Array }): Promise<{ ok: true; cid: string } | { ok: false; error: unknown }>;
  downloadFile(cid: string, name?: string): Promise<{ ok: boolean; error?: unknown }>;
  readFile(cid: string): Promise<{ ok: true; bytes: Uint8Array<ArrayBuffer> } | { ok: false; error: unknown }>;
  removeFile(cid: string): Promise<unknown>;
  files(): Promise<{
    files: { cid: string; holders: { nodeId: string }[] }[];
    transfers: { cid: string; phase: string; bytesDone: number; bytesPerSecond: number; startedAt: number; error: unknown }[];
  }>;
};

/** A second RTCPeerConnection between the pages, signalled through this script, with one ordered channel 'pump'. */
async function setupPump(a: Page, b: Page): Promise<void> {
  const setup = `
    window.__pump = { pc: new RTCPeerConnection({ iceServers: [] }) };
    window.__pump.gathered = () => new Promise((r) => {
      if (window.__pump.pc.iceGatheringState === 'complete') return r();
      window.__pump.pc.addEventListener('icegatheringstatechange', () => window.__pump.pc.iceGatheringState === 'complete' && r());
    });`;
  await a.evaluate(setup);
  await b.evaluate(setup);
  await b.evaluate(() => {
    const pump = (window as unknown as { __pump: { pc: RTCPeerConnection; channel: RTCDataChannel; expect(n: number): Promise<number> } }).__pump;
    pump.pc.ondatachannel = (e) => {
      const channel = e.channel;
      channel.binaryType = 'arraybuffer';
      pump.channel = channel;
    };
    // Resolves with the time (one clock for all pages) at which the n-th byte arrived.
    pump.expect = (n) =>
      new Promise((resolve) => {
        let got = 0;
        pump.channel.onmessage = (m: MessageEvent<ArrayBuffer>) => {
          got += m.data.byteLength;
          if (got >= n) resolve(performance.timeOrigin + performance.now());
        };
      });
  });
  const offer = await a.evaluate(async () => {
    const pump = (window as unknown as { __pump: { pc: RTCPeerConnection; gathered(): Promise<void>; channel?: RTCDataChannel } }).__pump;
    pump.channel = pump.pc.createDataChannel('pump', { ordered: true });
    pump.channel.binaryType = 'arraybuffer';
    await pump.pc.setLocalDescription(await pump.pc.createOffer());
    await pump.gathered();
    return pump.pc.localDescription!.toJSON();
  });
  const answer = await b.evaluate(async (offer) => {
    const pump = (window as unknown as { __pump: { pc: RTCPeerConnection; gathered(): Promise<void> } }).__pump;
    await pump.pc.setRemoteDescription(offer);
    await pump.pc.setLocalDescription(await pump.pc.createAnswer());
    await pump.gathered();
    return pump.pc.localDescription!.toJSON();
  }, offer);
  await a.evaluate(async (answer) => {
    const pump = (window as unknown as { __pump: { pc: RTCPeerConnection; channel: RTCDataChannel } }).__pump;
    await pump.pc.setRemoteDescription(answer);
    if (pump.channel.readyState !== 'open') await new Promise((r) => (pump.channel.onopen = r));
  }, answer);
  await b.waitForFunction(() => (window as unknown as { __pump: { channel?: RTCDataChannel } }).__pump.channel?.readyState === 'open');
}

/** One raw pump of `size` bytes A → B; ms from A's first send to B's last byte. */
async function rawRound(a: Page, b: Page, size: number): Promise<number> {
  await b.evaluate((size) => {
    const pump = (window as unknown as { __pump: { expect(n: number): Promise<number>; done?: Promise<number> } }).__pump;
    pump.done = pump.expect(size);
  }, size);
  const started = await a.evaluate(
    async ({ size, messageBytes, high, low }) => {
      const channel = (window as unknown as { __pump: { channel: RTCDataChannel } }).__pump.channel;
      channel.bufferedAmountLowThreshold = low;
      const message = crypto.getRandomValues(new Uint8Array(messageBytes));
      const t = performance.timeOrigin + performance.now();
      for (let sent = 0; sent < size; ) {
        if (channel.bufferedAmount > high) {
          await new Promise<void>((resolve) => channel.addEventListener('bufferedamountlow', () => resolve(), { once: true }));
          continue;
        }
        const n = Math.min(messageBytes, size - sent);
        channel.send(n === messageBytes ? message : message.subarray(0, n));
        sent += n;
      }
      return t;
    },
    { size, messageBytes: MESSAGE_BYTES, high: HIGH_WATER_BYTES, low: LOW_WATER_BYTES }
  );
  const ended = await b.evaluate(() => (window as unknown as { __pump: { done: Promise<number> } }).__pump.done);
  return ended - started;
}

/** One download of `size` fresh bytes added in A and fetched by B (checked byte for byte); ms from call to end. */
async function productRound(a: Page, b: Page, holderA: string, size: number, round: string): Promise<{ ms: number; cid: string }> {
  const added = await a.evaluate(
    async ({ size, round }) => {
      const api = (globalThis as unknown as { hearthnet: { api(): Api } }).hearthnet.api();
      const bytes = new Uint8Array(size);
      for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
      const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((x) => x.toString(16).padStart(2, '0')).join('');
      const result = await api.addFile({ name: `bench-${round}.bin`, mediaType: 'application/octet-stream', bytes });
      if (!result.ok) throw new Error(`addFile failed: ${JSON.stringify(result.error)}`);
      return { cid: result.cid, sha };
    },
    { size, round }
  );
  // A's file.advertise reached B: B's download asks A (not every linked node, as it would for an unknown file).
  await b.waitForFunction(
    async ({ cid, holderA }) => {
      const state = await (globalThis as unknown as { hearthnet: { api(): Api } }).hearthnet.api().files();
      return state.files.some((f) => f.cid === cid && f.holders.some((h) => h.nodeId === holderA));
    },
    { cid: added.cid, holderA },
    { timeout: 30_000, polling: 50 }
  );
  const result = await b.evaluate(
    async ({ cid, size, pollMs }) => {
      const api = (globalThis as unknown as { hearthnet: { api(): Api } }).hearthnet.api();
      const called = Date.now();
      const started = await api.downloadFile(cid);
      if (!started.ok) throw new Error(`downloadFile refused: ${JSON.stringify(started.error)}`);
      for (;;) {
        await new Promise((r) => setTimeout(r, pollMs));
        const transfer = (await api.files()).transfers.find((x) => x.cid === cid);
        if (!transfer || transfer.phase === 'fetching') continue;
        if (transfer.phase !== 'done') throw new Error(`download ${transfer.phase}: ${JSON.stringify(transfer.error)}`);
        // Once done, bytesPerSecond is the whole download's average over its duration (library-node.ts).
        const ended = transfer.startedAt + (size * 1000) / transfer.bytesPerSecond;
        const read = await api.readFile(cid);
        if (!read.ok) throw new Error(`readFile failed: ${JSON.stringify(read.error)}`);
        const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', read.bytes))].map((x) => x.toString(16).padStart(2, '0')).join('');
        return { ms: ended - called, sha, length: read.bytes.length };
      }
    },
    { cid: added.cid, size, pollMs: POLL_MS }
  );
  if (result.length !== size || result.sha !== added.sha) throw new Error(`B's copy of ${added.cid} differs from A's (${result.length} bytes, sha256 ${result.sha} vs ${added.sha})`);
  return { ms: result.ms, cid: added.cid };
}

/** Unpins the round's file on both sides, so stores and file lists stay small (chunks go at the next gc). */
async function forget(pages: Page[], cid: string): Promise<void> {
  for (const page of pages) await page.evaluate((cid) => (globalThis as unknown as { hearthnet: { api(): Api } }).hearthnet.api().removeFile(cid), cid);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mibPerSecond = (bytes: number, ms: number) => bytes / MIB / (ms / 1000);

const bridge = await startBridge();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
try {
  const pages: Page[] = [];
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(bridge.url + '/mesh');
    // tsx compiles this file with keepNames, so functions passed to evaluate() call an __name helper.
    await page.evaluate('window.__name = (f) => f');
    pages.push(page);
  }
  for (const page of pages) {
    await page.locator('[data-testid="peer-row"][data-path="webrtc"]').waitFor({ timeout: 30_000 });
    ids.push((await page.locator('[data-testid="peer-row"][data-path="webrtc"]').getAttribute('data-node-id'))!);
  }
  const [a, b] = pages;
  const nodeA = ids[1]; // the peer B lists
  // The mesh map animates every call; Home shows nothing that changes with traffic (the worker stays, SPA navigation).
  for (const page of pages) {
    await page.getByTestId('nav-home').click();
    await page.waitForURL((url) => url.pathname === '/');
  }
  await setupPump(a, b);

  // Warm-up: the first transfer pays for loading the hasher, JIT, IndexedDB opening.
  await rawRound(a, b, SIZES_MIB[0] * MIB);
  await forget(pages, (await productRound(a, b, nodeA, SIZES_MIB[0] * MIB, 'warmup')).cid);

  const rows: (string | number)[][] = [];
  for (const sizeMib of SIZES_MIB) {
    const size = Math.round(sizeMib * MIB);
    const raw: number[] = [];
    const product: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const download = async () => {
        const r = await productRound(a, b, nodeA, size, `${sizeMib}-${round}`);
        product.push(r.ms);
        await forget(pages, r.cid);
      };
      const pump = async () => void raw.push(await rawRound(a, b, size));
      if (round % 2) {
        await download();
        await pump();
      } else {
        await pump();
        await download();
      }
    }
    const rawMs = median(raw);
    const productMs = median(product);
    rows.push([`${sizeMib} MiB`, rawMs, mibPerSecond(size, rawMs), productMs, mibPerSecond(size, productMs), rawMs / productMs]);
  }
  printTable(
    `Blob transfer between two Chromium tabs over WebRTC, median of ${ROUNDS} rounds (raw: main-thread data channel pump, 64 KiB messages)`,
    ['size', 'raw ms', 'raw MiB/s', 'product ms', 'product MiB/s', 'product/raw'],
    rows
  );
} finally {
  await browser.close();
  await bridge.stop();
  removeDataDir(bridge);
}

/**
 * Bus ping between two real browser nodes (WebRTC, signed call + signed response, through the node workers)
 * against a raw RTCDataChannel ping of the same payload between the same two pages, plus the primitive
 * benchmarks inside Chromium. Needs the built app and a private network namespace:
 *   npm run build && bash tests/netns-run.sh npx tsx bench/mesh.ts
 */
import { chromium, type Page } from '@playwright/test';
import { build } from 'esbuild';
import { CHROMIUM_ARGS } from '../playwright.config.js';
import { startBridge, removeDataDir } from '../tests/e2e/bridge-process.js';
import type { BenchRow } from './primitives-core.js';
import { printTable } from './table.js';

const ROUNDS = 300;
const SIZES = [64, 1024, 16 * 1024];

interface Stats { p50: number; p90: number; p99: number; mean: number }
function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function busPing(page: Page, peer: string, size: number, rounds: number): Promise<number[]> {
  return page.evaluate(
    async ({ peer, size, rounds }) => {
      const api = (globalThis as unknown as { hearthnet: { api(): { ping(id: string, p: string): Promise<unknown> } } }).hearthnet.api();
      const payload = 'x'.repeat(size);
      for (let i = 0; i < 20; i++) await api.ping(peer, payload);
      const out: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const t = performance.now();
        await api.ping(peer, payload);
        out.push(performance.now() - t);
      }
      return out;
    },
    { peer, size, rounds }
  );
}

/** A plain RTCPeerConnection pair between the two pages, signalled through this script, echoing on the far side. */
async function rawPing(a: Page, b: Page, sizes: number[], rounds: number): Promise<Record<number, number[]>> {
  const setup = `
    window.__raw = { pc: new RTCPeerConnection({ iceServers: [] }) };
    window.__raw.gathered = () => new Promise((r) => {
      if (window.__raw.pc.iceGatheringState === 'complete') return r();
      window.__raw.pc.addEventListener('icegatheringstatechange', () => window.__raw.pc.iceGatheringState === 'complete' && r());
    });`;
  await a.evaluate(setup);
  await b.evaluate(setup);
  await b.evaluate(() => {
    const raw = (window as unknown as { __raw: { pc: RTCPeerConnection } }).__raw;
    raw.pc.ondatachannel = (e) => {
      e.channel.onmessage = (m) => e.channel.send(m.data);
    };
  });
  const offer = await a.evaluate(async () => {
    const raw = (window as unknown as { __raw: { pc: RTCPeerConnection; gathered(): Promise<void>; dc?: RTCDataChannel } }).__raw;
    raw.dc = raw.pc.createDataChannel('raw', { ordered: true });
    await raw.pc.setLocalDescription(await raw.pc.createOffer());
    await raw.gathered();
    return raw.pc.localDescription!.toJSON();
  });
  const answer = await b.evaluate(async (offer) => {
    const raw = (window as unknown as { __raw: { pc: RTCPeerConnection; gathered(): Promise<void> } }).__raw;
    await raw.pc.setRemoteDescription(offer);
    await raw.pc.setLocalDescription(await raw.pc.createAnswer());
    await raw.gathered();
    return raw.pc.localDescription!.toJSON();
  }, offer);
  return a.evaluate(
    async ({ answer, sizes, rounds }) => {
      const raw = (window as unknown as { __raw: { pc: RTCPeerConnection; dc: RTCDataChannel } }).__raw;
      await raw.pc.setRemoteDescription(answer);
      if (raw.dc.readyState !== 'open') await new Promise((r) => (raw.dc.onopen = r));
      const once = (payload: string) =>
        new Promise<number>((resolve) => {
          const t = performance.now();
          raw.dc.onmessage = () => resolve(performance.now() - t);
          raw.dc.send(payload);
        });
      const result: Record<number, number[]> = {};
      for (const size of sizes) {
        // The same JSON shape and size a bus ping's payload has, without signing, workers or the protocol.
        const payload = JSON.stringify({ input: { payload: 'x'.repeat(size) } });
        for (let i = 0; i < 20; i++) await once(payload);
        result[size] = [];
        for (let i = 0; i < rounds; i++) result[size].push(await once(payload));
      }
      return result;
    },
    { answer, sizes, rounds }
  );
}

async function primitivesInChromium(page: Page): Promise<BenchRow[]> {
  const bundle = await build({
    entryPoints: ['bench/primitives-core.ts'],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'hearthnetBench',
    platform: 'browser',
    target: 'es2022'
  });
  await page.addScriptTag({ content: bundle.outputFiles[0].text });
  return page.evaluate(() => (globalThis as unknown as { hearthnetBench: { runPrimitiveBench(): Promise<BenchRow[]> } }).hearthnetBench.runPrimitiveBench());
}

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
    await page.getByTestId('peer-row').first().waitFor({ state: 'attached', timeout: 30_000 }).catch(() => {});
    pages.push(page);
  }
  for (const page of pages) {
    await page.locator('[data-testid="peer-row"][data-path="webrtc"]').waitFor({ timeout: 30_000 });
    ids.push((await page.locator('[data-testid="peer-row"]').getAttribute('data-node-id'))!);
  }
  const raw = await rawPing(pages[0], pages[1], SIZES, ROUNDS);
  const rows: (string | number)[][] = [];
  for (const size of SIZES) {
    const bus = stats(await busPing(pages[0], ids[0], size, ROUNDS));
    const plain = stats(raw[size]);
    rows.push([`${size} B`, bus.p50, plain.p50, bus.p50 / plain.p50, bus.p90, plain.p90, bus.p99, plain.p99]);
  }
  printTable(
    `Ping between two Chromium tabs over WebRTC, ${ROUNDS} rounds (ms)`,
    ['payload', 'bus p50', 'raw p50', 'ratio p50', 'bus p90', 'raw p90', 'bus p99', 'raw p99'],
    rows
  );
  const prim = await primitivesInChromium(pages[0]);
  printTable('Primitives in Chromium ' + browser.version(), ['what', 'engine', 'value', 'unit'], prim.map((r) => [r.what, r.engine, r.value, r.unit]));
} finally {
  await browser.close();
  await bridge.stop();
  removeDataDir(bridge);
}

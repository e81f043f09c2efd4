/**
 * A remote call between two real browser nodes (WebRTC, signed call + signed response, through the node workers)
 * against the same two pages' raw links, plus the primitive benchmarks inside Chromium. Needs the built app and a
 * private network namespace:
 *   npm run build && bash tests/netns-run.sh npx tsx bench/mesh.ts
 *
 * Per payload size it measures, all between the same two pages (A calls, B answers) over WebRTC:
 *   (a)  raw DC         — an RTCDataChannel echo, main thread to main thread, nothing else.
 *   (b)  node path via main — an unsigned echo that leaves a module worker, crosses a
 *                         MessagePort to the main thread, the data channel, the far main thread and the far
 *                         worker's port, and comes back the same way. Timed inside A's worker. Same topology and
 *                         port message shape as the product (port-link.ts, mesh-host.ts), in a bench worker of its
 *                         own on a second RTCPeerConnection (the product has no hook for unsigned frames).
 *   (b+) (b) + API hop — (b) started and finished on A's main thread: one more main↔worker round trip, which
 *                         every `hearthnet.api()` call pays too.
 *   (w)  worker-owned DC — a negotiated data channel transferred into each page's bench worker: worker → DC →
 *                         worker and back, no main thread. This is the link as the node sees it where the browser can
 *                         transfer data channels (webrtc-channel.ts, channel-link.ts); (b) is the fallback path.
 *   (w+) (w) + API hop — the fair baseline for (c) and (d) when the node's frame channel lives in its worker.
 *   (c)  bus echo call  — `hearthnet.api().callCapability(experimental.echo@1.0)`, routed by A's bus to B, timed on
 *                         A's main thread. Echo text is at most 4096 characters: no 16 KiB echo.
 *   (d)  ping           — `hearthnet.api().ping(B, payload)` (experimental.ping@1.0 through the rpc layer and B's
 *                         bus, untraced), timed on A's main thread.
 *   hop                 — `hearthnet.api().stats()`: the comlink round trip main↔node worker alone.
 *
 * The bus admits 10 calls/s per caller and capability (X01 §7 soft limit), so calls cannot run back to back: each
 * round takes one sample of every kind, in a rotating order, then sleeps GAP_MS. The raw links are also measured
 * back to back (the old figure), which is usually faster than paced: nothing has gone idle.
 *
 * BENCH_ROUNDS (default 300), BENCH_GAP_MS (default 125), BENCH_SIZES (e.g. "64,1024"), BENCH_SKIP_PRIMITIVES=1.
 */
import { chromium, type Page } from '@playwright/test';
import { build } from 'esbuild';
import { CHROMIUM_ARGS } from '../playwright.config.js';
import { startBridge, removeDataDir } from '../tests/e2e/bridge-process.js';
import type { BenchRow } from './primitives-core.js';
import { printTable } from './table.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 125);
const WARMUP = 20;
const SIZES = (process.env.BENCH_SIZES ?? '64,1024,16384').split(',').map(Number);
const ECHO_TEXT_MAX_CHARS = 4096;

interface Stats { p50: number; p90: number; p99: number; mean: number; n: number }
function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length, n: s.length };
}

/**
 * The bench worker: it owns one end of a MessageChannel to the main thread, like the node worker's link port.
 * On B it sends every frame back (echo); on A it times one round trip per request from the main thread.
 */
const BENCH_WORKER = `
let port = null;
let dc = null;
let waiting = null;
let echo = false;
const LINK = 'webrtc-bench';
function send(frame) { port.postMessage({ type: 'link-send', linkId: LINK, frame }); }
self.onmessage = (event) => {
  const m = event.data;
  if (m.type === 'dc') {
    dc = m.dc;
    dc.onmessage = (e) => {
      if (echo) { dc.send(e.data); return; }
      const w = waiting; waiting = null; w && w();
    };
  } else if (m.type === 'onceDc') {
    const t = performance.now();
    waiting = () => self.postMessage({ type: 'done', ms: performance.now() - t });
    dc.send(m.frame);
  } else if (m.type === 'port') {
    port = m.port;
    port.onmessage = (e) => {
      const msg = e.data;
      if (msg.type !== 'link-frame') return;
      if (echo) { send(msg.frame); return; }
      const w = waiting; waiting = null; w && w();
    };
  } else if (m.type === 'echo') {
    echo = m.on;
  } else if (m.type === 'once') {
    const t = performance.now();
    waiting = () => self.postMessage({ type: 'done', ms: performance.now() - t });
    send(m.frame);
  }
};`;

/**
 * A plain RTCPeerConnection between the two pages, signalled through this script, with three channels: on 'main' B
 * echoes on its main thread; on 'node' B's main thread hands the frame to its bench worker, which sends it back; 'wk'
 * is a negotiated channel transferred into each page's bench worker, which sends and echoes on it directly.
 */
async function setupRaw(a: Page, b: Page): Promise<void> {
  const setup = `
    window.__raw = { pc: new RTCPeerConnection({ iceServers: [] }) };
    window.__raw.gathered = () => new Promise((r) => {
      if (window.__raw.pc.iceGatheringState === 'complete') return r();
      window.__raw.pc.addEventListener('icegatheringstatechange', () => window.__raw.pc.iceGatheringState === 'complete' && r());
    });
    {
      const url = URL.createObjectURL(new Blob([${JSON.stringify(BENCH_WORKER)}], { type: 'text/javascript' }));
      const worker = new Worker(url, { type: 'module', name: 'bench-link' });
      const channel = new MessageChannel();
      worker.postMessage({ type: 'port', port: channel.port2 }, [channel.port2]);
      window.__raw.worker = worker;
      window.__raw.port = channel.port1;
      // The main-thread half, as in mesh-host.ts: worker frames go to the channel, channel frames to the worker.
      window.__raw.port.onmessage = (e) => window.__raw.node.send(e.data.frame);
      // A data channel can only be transferred in the task that created it.
      const wk = window.__raw.pc.createDataChannel('wk', { negotiated: true, id: 2000, ordered: true });
      worker.postMessage({ type: 'dc', dc: wk }, [wk]);
    }`;
  await a.evaluate(setup);
  await b.evaluate(setup);
  await b.evaluate(() => {
    const raw = (window as unknown as { __raw: { pc: RTCPeerConnection; node: RTCDataChannel; port: MessagePort; worker: Worker } }).__raw;
    raw.pc.ondatachannel = (e) => {
      const channel = e.channel;
      if (channel.label === 'main') channel.onmessage = (m) => channel.send(m.data);
      else {
        raw.node = channel;
        channel.onmessage = (m) => raw.port.postMessage({ type: 'link-frame', linkId: 'webrtc-bench', frame: m.data });
      }
    };
    raw.worker.postMessage({ type: 'echo', on: true });
  });
  const offer = await a.evaluate(async () => {
    const raw = (window as unknown as { __raw: { pc: RTCPeerConnection; gathered(): Promise<void>; main?: RTCDataChannel; node?: RTCDataChannel } }).__raw;
    raw.main = raw.pc.createDataChannel('main', { ordered: true });
    raw.node = raw.pc.createDataChannel('node', { ordered: true });
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
  await a.evaluate(async (answer) => {
    const raw = (window as unknown as { __raw: { pc: RTCPeerConnection; main: RTCDataChannel; node: RTCDataChannel; port: MessagePort } }).__raw;
    await raw.pc.setRemoteDescription(answer);
    for (const channel of [raw.main, raw.node]) if (channel.readyState !== 'open') await new Promise((r) => (channel.onopen = r));
    raw.node.onmessage = (m) => raw.port.postMessage({ type: 'link-frame', linkId: 'webrtc-bench', frame: m.data });
  }, answer);
}

const KINDS = ['dc', 'path', 'wdc', 'echo', 'ping', 'hop'] as const;
type Kind = (typeof KINDS)[number] | 'pathHop' | 'wdcHop';
type Samples = Record<Kind, number[]> & { rateLimited: number };

/** One size, on page A: `rounds` rounds of one sample per kind in rotating order, GAP_MS apart. */
async function pacedRun(a: Page, peer: string, size: number, rounds: number, withEcho: boolean): Promise<Samples> {
  return a.evaluate(
    async ({ peer, size, rounds, warmup, gapMs, withEcho, kinds }) => {
      type Outcome = { ok: boolean; error?: { error?: string; retry_after_ms?: number }; trace?: { to_node?: string } | null };
      type Api = {
        ping(id: string, p: string): Promise<unknown>;
        stats(): Promise<unknown>;
        callCapability(r: unknown): Promise<Outcome>;
      };
      const api = (globalThis as unknown as { hearthnet: { api(): Api } }).hearthnet.api();
      const raw = (window as unknown as { __raw: { main: RTCDataChannel; worker: Worker } }).__raw;
      // The JSON shape and size of a ping's body, without signing, workers or the protocol.
      const frame = JSON.stringify({ input: { payload: 'x'.repeat(size) } });
      const payload = 'x'.repeat(size);
      const echoRequest = { capability: 'experimental.echo', version: '1.0', body: { input: { text: 'x'.repeat(size) } } };
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const series: Record<string, number[]> = { dc: [], path: [], pathHop: [], wdc: [], wdcHop: [], echo: [], ping: [], hop: [] };
      const out = series as typeof series & Record<'dc' | 'path' | 'pathHop' | 'wdc' | 'wdcHop' | 'echo' | 'ping' | 'hop', number[]>;
      let rateLimited = 0;
      const isRateLimited = (err: unknown) => /rate_limited|too many calls/.test(String((err as Error)?.message ?? err));

      const dc = () =>
        new Promise<void>((resolve) => {
          const t = performance.now();
          raw.main.onmessage = () => {
            out.dc.push(performance.now() - t);
            resolve();
          };
          raw.main.send(frame);
        });
      const path = () =>
        new Promise<void>((resolve) => {
          const t = performance.now();
          raw.worker.onmessage = (e) => {
            out.pathHop.push(performance.now() - t);
            out.path.push(e.data.ms);
            resolve();
          };
          raw.worker.postMessage({ type: 'once', frame });
        });
      const wdc = () =>
        new Promise<void>((resolve) => {
          const t = performance.now();
          raw.worker.onmessage = (e) => {
            out.wdcHop.push(performance.now() - t);
            out.wdc.push(e.data.ms);
            resolve();
          };
          raw.worker.postMessage({ type: 'onceDc', frame });
        });
      const echo = async () => {
        for (;;) {
          const t = performance.now();
          const outcome = await api.callCapability(echoRequest);
          const ms = performance.now() - t;
          if (outcome.ok && outcome.trace?.to_node === peer) return void out.echo.push(ms);
          if (!outcome.ok && outcome.error?.error === 'rate_limited') {
            rateLimited++;
            await sleep(outcome.error.retry_after_ms ?? 100);
            continue;
          }
          throw new Error(`echo call failed or was not served by the peer: ${JSON.stringify(outcome)}`);
        }
      };
      const ping = async () => {
        for (;;) {
          const t = performance.now();
          try {
            await api.ping(peer, payload);
            return void out.ping.push(performance.now() - t);
          } catch (err) {
            if (!isRateLimited(err)) throw err;
            rateLimited++;
            await sleep(100);
          }
        }
      };
      const hop = async () => {
        const t = performance.now();
        await api.stats();
        out.hop.push(performance.now() - t);
      };
      const run: Record<string, () => Promise<void>> = { dc, path, wdc, echo, ping, hop };
      const active = kinds.filter((k) => withEcho || k !== 'echo');
      for (let round = 0; round < warmup + rounds; round++) {
        if (round === warmup) {
          for (const key of Object.keys(series)) series[key].length = 0;
          rateLimited = 0;
        }
        for (let i = 0; i < active.length; i++) await run[active[(round + i) % active.length]]();
        await sleep(gapMs);
      }
      return { ...series, rateLimited };
    },
    { peer, size, rounds, warmup: WARMUP, gapMs: GAP_MS, withEcho, kinds: [...KINDS] }
  ) as Promise<Samples>;
}

/** The raw links back to back (no pacing), as the old benchmark measured them. */
async function backToBack(a: Page, size: number, rounds: number): Promise<{ dc: number[]; path: number[]; pathHop: number[]; wdc: number[] }> {
  return a.evaluate(
    async ({ size, rounds, warmup }) => {
      const raw = (window as unknown as { __raw: { main: RTCDataChannel; worker: Worker } }).__raw;
      const frame = JSON.stringify({ input: { payload: 'x'.repeat(size) } });
      const out = { dc: [] as number[], path: [] as number[], pathHop: [] as number[], wdc: [] as number[] };
      const dc = () =>
        new Promise<number>((resolve) => {
          const t = performance.now();
          raw.main.onmessage = () => resolve(performance.now() - t);
          raw.main.send(frame);
        });
      const path = () =>
        new Promise<[number, number]>((resolve) => {
          const t = performance.now();
          raw.worker.onmessage = (e) => resolve([e.data.ms, performance.now() - t]);
          raw.worker.postMessage({ type: 'once', frame });
        });
      for (let i = 0; i < warmup + rounds; i++) {
        const ms = await dc();
        if (i >= warmup) out.dc.push(ms);
      }
      const wdc = () =>
        new Promise<number>((resolve) => {
          raw.worker.onmessage = (e) => resolve(e.data.ms);
          raw.worker.postMessage({ type: 'onceDc', frame });
        });
      for (let i = 0; i < warmup + rounds; i++) {
        const ms = await wdc();
        if (i >= warmup) out.wdc.push(ms);
      }
      for (let i = 0; i < warmup + rounds; i++) {
        const [inner, outer] = await path();
        if (i >= warmup) {
          out.path.push(inner);
          out.pathHop.push(outer);
        }
      }
      return out;
    },
    { size, rounds, warmup: WARMUP }
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

/** B offers experimental.echo@1.0; waits until A's bus lists it for B. */
async function offerEcho(provider: Page, caller: Page, providerId: string): Promise<void> {
  type Api = { setEchoOffered(on: boolean): Promise<boolean>; busView(): Promise<{ capabilities: { name: string; version: string; nodeId: string }[] }> };
  await provider.evaluate(() => (globalThis as unknown as { hearthnet: { api(): Api } }).hearthnet.api().setEchoOffered(true));
  await caller.waitForFunction(
    async (providerId) => {
      const view = await (globalThis as unknown as { hearthnet: { api(): Api } }).hearthnet.api().busView();
      return view.capabilities.some((c) => c.name === 'experimental.echo' && c.version === '1.0' && c.nodeId === providerId);
    },
    providerId,
    { timeout: 30_000, polling: 200 }
  );
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
    // The one peer each page lists: ids[0] is B as A sees it, ids[1] is A.
    ids.push((await page.locator('[data-testid="peer-row"]').getAttribute('data-node-id'))!);
  }
  const [a, b] = pages;
  const peerOfA = ids[0];
  await setupRaw(a, b);
  await offerEcho(b, a, peerOfA);

  const dash = (s: Stats | null, f: (s: Stats) => number): number | string => (s ? f(s) : '—');
  const rows: (string | number)[][] = [];
  const ratioRows: (string | number)[][] = [];
  const b2bRows: (string | number)[][] = [];
  let limited = 0;
  for (const size of SIZES) {
    const label = `${size} B`;
    const withEcho = size <= ECHO_TEXT_MAX_CHARS;
    const paced = await pacedRun(a, peerOfA, size, ROUNDS, withEcho);
    limited += paced.rateLimited;
    const s = {
      dc: stats(paced.dc),
      path: stats(paced.path),
      pathHop: stats(paced.pathHop),
      wdc: stats(paced.wdc),
      wdcHop: stats(paced.wdcHop),
      echo: withEcho ? stats(paced.echo) : null,
      ping: stats(paced.ping),
      hop: stats(paced.hop)
    };
    const line = (what: string, st: Stats | null) => rows.push([label, what, dash(st, (x) => x.p50), dash(st, (x) => x.p90), dash(st, (x) => x.p99)]);
    line('(a) raw DC main↔main', s.dc);
    line('(b) worker→main→DC→main→worker', s.path);
    line('(b+) (b) + API hop', s.pathHop);
    line('(w) worker-owned DC, worker↔worker', s.wdc);
    line('(w+) (w) + API hop', s.wdcHop);
    line('(c) bus echo call', s.echo);
    line('(d) ping', s.ping);
    line('API hop alone (comlink)', s.hop);
    ratioRows.push([
      label,
      dash(s.echo, (x) => x.p50 / s.dc.p50),
      dash(s.echo, (x) => x.p50 / s.path.p50),
      dash(s.echo, (x) => x.p50 / s.wdc.p50),
      dash(s.echo, (x) => x.p50 / s.pathHop.p50),
      dash(s.echo, (x) => x.p50 / s.wdcHop.p50),
      s.ping.p50 / s.dc.p50,
      s.ping.p50 / s.path.p50,
      s.ping.p50 / s.wdc.p50,
      s.ping.p50 / s.pathHop.p50,
      s.ping.p50 / s.wdcHop.p50
    ]);
    const b2b = await backToBack(a, size, ROUNDS);
    const bd = stats(b2b.dc);
    const bp = stats(b2b.path);
    const bh = stats(b2b.pathHop);
    const bw = stats(b2b.wdc);
    b2bRows.push([label, bd.p50, bd.p90, bp.p50, bp.p90, bh.p50, bh.p90, bw.p50, bw.p90]);
  }
  printTable(`Round trips between two Chromium tabs over WebRTC, ${ROUNDS} paced rounds, ${GAP_MS} ms apart (ms)`, ['payload', 'what', 'p50', 'p90', 'p99'], rows);
  printTable(
    'p50 ratios',
    ['payload', 'echo/(a)', 'echo/(b)', 'echo/(w)', 'echo/(b+)', 'echo/(w+)', 'ping/(a)', 'ping/(b)', 'ping/(w)', 'ping/(b+)', 'ping/(w+)'],
    ratioRows
  );
  printTable('Raw links back to back (ms)', ['payload', '(a) p50', '(a) p90', '(b) p50', '(b) p90', '(b+) p50', '(b+) p90', '(w) p50', '(w) p90'], b2bRows);
  if (limited) console.log(`\n(${limited} calls were refused rate_limited and retried; not counted)`);
  if (!process.env.BENCH_SKIP_PRIMITIVES) {
    const prim = await primitivesInChromium(a);
    printTable('Primitives in Chromium ' + browser.version(), ['what', 'engine', 'value', 'unit'], prim.map((r) => [r.what, r.engine, r.value, r.unit]));
  }
} finally {
  await browser.close();
  await bridge.stop();
  removeDataDir(bridge);
}

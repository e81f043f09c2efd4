import { expect, test, type Browser } from '@playwright/test';
import { peerRow, showMesh, type OpenNode } from './app.js';
import { bridgeSuite } from './suite.js';

/**
 * Where the browser can transfer data channels (Chromium can), a WebRTC link's frames go straight between the data
 * channel and the node worker: the tab's main thread is not on the path. So a peer answers calls even while its
 * page is busy (a long render, a stuck script), and a slow UI cannot delay the mesh.
 */
const suite = bridgeSuite();
const nodes: OpenNode[] = [];

const BUSY_MS = 3000;

test("a peer answers a signed ping over WebRTC while its tab's main thread is blocked", async ({ browser }) => {
  for (let i = 0; i < 2; i++) nodes.push(await suite.open(browser));
  const [caller, provider] = nodes;
  for (const node of nodes) await showMesh(node);
  await expect(peerRow(caller, provider)).toHaveAttribute('data-path', 'webrtc');
  await expect(peerRow(provider, caller)).toHaveAttribute('data-path', 'webrtc');

  // Block the provider's main thread from its next task on; the loop records when it started and ended.
  await provider.page.evaluate((ms) => {
    const w = window as unknown as { __busy?: { started: number; ended: number } };
    setTimeout(() => {
      const started = Date.now();
      const until = performance.now() + ms;
      while (performance.now() < until) {
        /* spin */
      }
      w.__busy = { started, ended: Date.now() };
    }, 0);
  }, BUSY_MS);

  // Ping throughout the blocked stretch, paced under the provider's budget of 10 calls/s per capability (C8).
  const pings = await caller.page.evaluate(
    async ({ peer, ms }) => {
      const api = (globalThis as unknown as { hearthnet: { api(): { ping(id: string, p: string): Promise<{ rttMs: number; path: string | null }> } } }).hearthnet.api();
      const out: { rttMs: number; path: string | null; answeredAt: number }[] = [];
      const until = Date.now() + ms + 500;
      while (Date.now() < until) {
        out.push({ ...(await api.ping(peer, 'are you there?')), answeredAt: Date.now() });
        await new Promise((r) => setTimeout(r, 150));
      }
      return out;
    },
    { peer: provider.nodeId, ms: BUSY_MS }
  );
  // This evaluation runs only once the provider's main thread is free again.
  const busy = await provider.page.evaluate(() => (window as unknown as { __busy: { started: number; ended: number } }).__busy);
  expect(busy.ended - busy.started).toBeGreaterThanOrEqual(BUSY_MS - 50);
  // Answered by the provider's worker while its main thread was spinning, over WebRTC, quickly.
  const during = pings.filter((p) => p.answeredAt > busy.started + 100 && p.answeredAt < busy.ended - 100);
  expect(during.length).toBeGreaterThanOrEqual(5);
  for (const ping of during) {
    expect(ping.path).toBe('webrtc');
    expect(ping.rttMs).toBeLessThan(BUSY_MS / 2);
  }
});

/**
 * As a browser that cannot transfer data channels (Firefox today) behaves: postMessage refuses them. Opened through
 * the suite, so the patched profile is closed with the others at the end.
 */
async function openNodeWithoutChannelTransfer(browser: Browser): Promise<OpenNode> {
  const original = browser.newContext.bind(browser);
  const patched = Object.assign(Object.create(browser) as Browser, {
    newContext: async (...args: Parameters<Browser['newContext']>) => {
      const context = await original(...args);
      await context.addInitScript(() => {
        const post = MessagePort.prototype.postMessage;
        MessagePort.prototype.postMessage = function (this: MessagePort, message: unknown, transfer?: unknown) {
          const list = Array.isArray(transfer) ? transfer : [];
          if (list.some((item) => item instanceof RTCDataChannel)) {
            const counter = window as unknown as { __refusedTransfers?: number };
            counter.__refusedTransfers = (counter.__refusedTransfers ?? 0) + 1;
            throw new DOMException('RTCDataChannel is not transferable here', 'DataCloneError');
          }
          return (post as (this: MessagePort, message: unknown, transfer?: unknown) => void).call(this, message, transfer);
        } as typeof MessagePort.prototype.postMessage;
      });
      return context;
    }
  });
  return suite.open(patched);
}

test('where data channels cannot move to the worker, frames go through the main thread and calls still work', async ({ browser }) => {
  const [modern] = nodes;
  const plain = [await openNodeWithoutChannelTransfer(browser), await openNodeWithoutChannelTransfer(browser)];
  nodes.push(...plain);
  for (const node of plain) await showMesh(node);
  await showMesh(modern);
  const all = [modern, ...plain];
  for (const node of all) {
    for (const other of all.filter((n) => n !== node)) await expect(peerRow(node, other)).toHaveAttribute('data-path', 'webrtc');
  }
  for (const node of all) {
    for (const other of all.filter((n) => n !== node)) {
      const result = await node.page.evaluate(
        async ({ peer }) =>
          (globalThis as unknown as { hearthnet: { api(): { ping(id: string, p: string): Promise<{ path: string | null }> } } }).hearthnet.api().ping(peer, 'x'),
        { peer: other.nodeId }
      );
      expect(result.path).toBe('webrtc');
    }
  }
  // The fallback really ran: those tabs tried to move their channels and were refused.
  for (const node of plain) expect(await node.page.evaluate(() => (window as unknown as { __refusedTransfers?: number }).__refusedTransfers ?? 0)).toBeGreaterThan(0);
});

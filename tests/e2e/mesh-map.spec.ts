import { expect, test, type Locator } from '@playwright/test';
import { showMesh, type OpenNode } from './app.js';
import { bridgeSuite } from './suite.js';

/**
 * The Mesh map in real browser tabs: each tab draws the other as a node on a WebRTC link, a call to a neighbour's
 * capability travels the map caller → provider (on both tabs), and the capability matrix says who offers what.
 */
const suite = bridgeSuite();
let a: OpenNode;
let b: OpenNode;

const ECHO = 'experimental.echo';

function route(node: OpenNode, to: OpenNode): Locator {
  return node.page.locator(`[data-testid="mesh-map-route"][data-capability="${ECHO}"][data-to="${to.nodeId}"]`);
}

function matrixCell(node: OpenNode, on: OpenNode, capability = ECHO): Locator {
  return node.page.locator(`[data-testid="capability-matrix-cell"][data-node-id="${on.nodeId}"][data-capability="${capability}"]`);
}

/** Calls echo on `provider` from `caller`'s "Try a capability" panel and waits for the answer. */
async function callEcho(caller: OpenNode, provider: OpenNode, text: string): Promise<void> {
  const page = caller.page;
  await page.getByTestId('call-capability').selectOption(`${ECHO}@1.0`);
  await page.getByTestId('call-node').selectOption(provider.nodeId);
  await page.getByTestId('call-body').fill(JSON.stringify({ input: { text } }));
  await page.getByTestId('call-submit').click();
  await expect(page.getByTestId('call-outcome')).toHaveAttribute('data-ok', 'true');
}

test.beforeAll(async ({ browser }) => {
  a = await suite.open(browser);
  b = await suite.open(browser);
  for (const node of [a, b]) {
    await showMesh(node);
    await expect(node.page.locator('[data-testid="peer-row"][data-path="webrtc"]')).toHaveCount(1);
  }
});

test('each tab draws itself and its neighbour on a direct WebRTC link', async () => {
  const map = a.page.getByTestId('mesh-map');
  await expect(map.locator(`[data-testid="mesh-map-node"][data-node-id="${a.nodeId}"]`)).toHaveAttribute('data-role', 'self');
  await expect(map.locator(`[data-testid="mesh-map-node"][data-node-id="${b.nodeId}"] text`)).toHaveText(/^Neighbour [A-Z2-7]{4}$/);
  const link = map.locator(`[data-testid="mesh-map-link"][data-peer-id="${b.nodeId}"]`);
  await expect(link).toHaveAttribute('data-path', 'webrtc');
  await expect(link).toHaveAttribute('data-health', 'good');
  await expect(map.getByRole('img')).toHaveAttribute('aria-label', /linked to 1 neighbour: 1 direct \(WebRTC\)/);
  // The same picture in words, for screen readers and anyone who prefers a list.
  await map.getByText('Show the map as a list').click();
  await expect(map.getByTestId('mesh-map-list').locator(`li[data-node-id="${b.nodeId}"]`)).toContainText('direct (WebRTC)');
});

test('the capability matrix shows the neighbour offering echo, and this tab not', async () => {
  await b.page.getByTestId('echo-toggle').check();
  await expect(matrixCell(a, b)).toHaveAttribute('data-state', 'ready');
  await expect(matrixCell(a, b)).toContainText('1.0');
  await expect(matrixCell(a, a)).toHaveAttribute('data-state', 'absent');
});

test('a call travels the map from caller to provider on both tabs, then the route goes', async () => {
  await expect(route(a, b)).toHaveCount(0);
  await callEcho(a, b, 'over the map');
  for (const node of [a, b]) {
    const shown = route(node, b);
    await expect(shown).toHaveCount(1);
    await expect(shown).toHaveAttribute('data-from', a.nodeId);
    await expect(shown).toHaveAttribute('data-result', 'ok');
  }
  await expect(route(a, b).locator('.packet')).toHaveCount(1);
  // A route is an animation, not a record (Recent calls keeps those): it leaves once its trip and linger are over.
  await expect(route(a, b)).toHaveCount(0);
});

test('with reduced motion the route is marked without a moving packet', async () => {
  await a.page.emulateMedia({ reducedMotion: 'reduce' });
  try {
    await callEcho(a, b, 'gently');
    await expect(route(a, b)).toHaveCount(1);
    await expect(route(a, b).locator('.trail')).toHaveCount(1);
    await expect(route(a, b).locator('.packet')).toHaveCount(0);
  } finally {
    await a.page.emulateMedia({ reducedMotion: null });
  }
});

test('on a 360 px phone the map fits the screen and the matrix scrolls inside its own box', async () => {
  const page = a.page;
  await page.setViewportSize({ width: 360, height: 740 });
  const map = await page.getByTestId('mesh-map').getByRole('img').boundingBox();
  expect(map).not.toBeNull();
  expect(map!.x).toBeGreaterThanOrEqual(0);
  expect(map!.x + map!.width).toBeLessThanOrEqual(360);
  for (const node of await page.getByTestId('mesh-map-node').all()) {
    const box = await node.boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(map!.x);
    expect(box!.x + box!.width).toBeLessThanOrEqual(map!.x + map!.width);
  }
  const matrix = await page.getByTestId('capability-matrix').boundingBox();
  expect(matrix!.x + matrix!.width).toBeLessThanOrEqual(360);
  await expect(page.getByTestId('capability-matrix').locator('tbody th').first()).toHaveCSS('position', 'sticky');
});

/** Helpers for driving the app as a person would: open it, read what the page shows. */
import { expect, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test';

export interface OpenNode {
  context: BrowserContext;
  page: Page;
  nodeId: string;
  shortId: string;
}

/** A fresh browser profile (a separate node) with the app open on its home page and its identity shown. */
export async function openNode(browser: Browser, bridgeUrl: string, options: BrowserContextOptions = {}): Promise<OpenNode> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  // SvelteKit turns a render failure into its 500 page and only logs it: print it, or a failure has no cause.
  page.on('console', (message) => {
    if (message.type() === 'error') console.error(`[page console] ${message.text()}`);
  });
  await page.goto(bridgeUrl + '/');
  const shortId = page.getByTestId('short-id');
  await expect(shortId).toHaveText(/^ed25519:[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
  const nodeId = (await shortId.getAttribute('title')) ?? '';
  return { context, page, nodeId, shortId: (await shortId.textContent()) ?? '' };
}

export async function showMesh(node: OpenNode): Promise<void> {
  await node.page.getByRole('link', { name: 'Mesh', exact: true }).click();
  await expect(node.page.getByRole('heading', { name: 'Mesh' })).toBeVisible();
}

export function peerRow(node: OpenNode, other: OpenNode) {
  return node.page.locator(`[data-testid="peer-row"][data-node-id="${other.nodeId}"]`);
}

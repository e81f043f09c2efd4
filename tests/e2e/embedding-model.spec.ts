import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { TINY_EMBED_DIMENSIONS, tinyEmbeddingOf, writeTinyEmbeddingModel } from '../support/tiny-embedding-model.js';
import { showMesh, type OpenNode } from './app.js';
import { bridgeSuite } from './suite.js';

/**
 * A sentence-embedding model in the browser: the bridge's mirror holds a tiny but genuine BERT-layout ONNX model
 * (written by the test); tab A turns it on from the Library page — transformers.js in a model worker (WASM), files
 * from the mirror only, no internet in this network namespace — and offers it as embed.text; tab B calls embed.text
 * naming that model and gets A's vectors, which are the model's known answer.
 */
const MODEL = 'hearth/tiny-minilm';
let modelsDir: string;
test.beforeAll(() => {
  modelsDir = mkdtempSync(join(tmpdir(), 'hearthnet-models-'));
  writeTinyEmbeddingModel(join(modelsDir, MODEL));
});
test.afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));
const suite = bridgeSuite(() => ['--models-dir', modelsDir]);

let a: OpenNode;
let b: OpenNode;

async function openLibrary(node: OpenNode): Promise<void> {
  await node.page.getByTestId('nav-library').click();
  await expect(node.page.getByTestId('embedder-card')).toBeVisible();
}

test('a tab turns on the bridge mirror’s embedding model from the Library page', async ({ browser }) => {
  a = await suite.open(browser);
  await openLibrary(a);
  const card = a.page.getByTestId('embedder-card');
  const option = card.locator(`[data-testid="embedder-option"][data-id="${MODEL}"]`);
  await expect(option.getByTestId('embedder-use')).toHaveText(`Use ${MODEL} from the bridge (under 1 MB)`);
  const started = Date.now();
  await option.getByTestId('embedder-use').click();
  await expect(card.getByTestId('embedder-chosen')).toHaveAttribute('data-phase', 'ready', { timeout: 60_000 });
  console.log(`tiny embedding model: turned on and ready in ${Date.now() - started} ms (worker start, files from the mirror, WASM session)`);
  await expect(card.getByTestId('embedder-ready')).toBeVisible();
});

test('another tab calls embed.text naming the model and gets the first tab’s vectors', async ({ browser }) => {
  b = await suite.open(browser);
  await showMesh(b);
  const page = b.page;
  const texts = ['boil water', 'power outage candle'];
  // The offer reaches B with A's next manifest; until then the router has no provider for the model.
  await expect(async () => {
    await page.getByTestId('call-capability').selectOption('embed.text@1.0');
    await page.getByTestId('call-node').selectOption(a.nodeId);
    await page.getByTestId('call-body').fill(JSON.stringify({ params: { model: MODEL }, input: { texts } }));
    await page.getByTestId('call-submit').click();
    await expect(page.getByTestId('call-outcome')).toHaveAttribute('data-ok', 'true', { timeout: 3_000 });
  }).toPass({ timeout: 30_000 });
  const answer = JSON.parse((await page.getByTestId('call-output').textContent()) ?? '{}');
  expect(answer.meta).toMatchObject({ model: MODEL, served_by: a.nodeId });
  expect(answer.output.dim).toBe(TINY_EMBED_DIMENSIONS);
  const expected = [tinyEmbeddingOf(['boil', 'water']), tinyEmbeddingOf(['power', 'outage', 'candle'])];
  (answer.output.embeddings as number[][]).forEach((vector, i) => {
    expect(vector).toHaveLength(TINY_EMBED_DIMENSIONS);
    vector.forEach((x, j) => expect(x).toBeCloseTo(expected[i][j], 5));
  });
});

test('the model comes back after a reload, and stopping it withdraws it from the mesh', async () => {
  await a.page.reload();
  await openLibrary(a);
  const card = a.page.getByTestId('embedder-card');
  await expect(card.getByTestId('embedder-chosen')).toHaveAttribute('data-phase', 'ready', { timeout: 60_000 });
  await card.getByTestId('embedder-stop').click();
  await expect(card.getByTestId('embedder-chosen')).toHaveCount(0);
  await expect(card.locator(`[data-testid="embedder-option"][data-id="${MODEL}"]`)).toBeVisible();
  // B's call naming the model no longer finds a provider.
  const page = b.page;
  await expect(async () => {
    await page.getByTestId('call-body').fill(JSON.stringify({ params: { model: MODEL }, input: { texts: ['boil'] } }));
    await page.getByTestId('call-submit').click();
    await expect(page.getByTestId('call-outcome')).toHaveAttribute('data-ok', 'false', { timeout: 3_000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByTestId('call-error')).toContainText(/not_found|not_implemented/);
});

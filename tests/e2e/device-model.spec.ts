import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { TINY_CHAT_ANSWER, writeTinyCausalLm } from '../support/tiny-causal-lm.js';
import type { OpenNode } from './app.js';
import { bridgeSuite } from './suite.js';

/**
 * A model that runs in the browser itself, as far as a machine without a GPU allows: the bridge's mirror holds a
 * tiny but genuine ONNX language model (written by the test, in the Hugging Face layout); tab A finds it on the Ask
 * page, loads it with transformers.js in a model worker (WASM) from the mirror — no internet exists in this network
 * namespace — and offers it; tab B, which runs no model, asks and gets the model's answer streamed, from A.
 */
const MODEL = 'hearth/tiny-llama';
let modelsDir: string;
test.beforeAll(() => {
  modelsDir = mkdtempSync(join(tmpdir(), 'hearthnet-models-'));
  // A wide margin: the Ask page samples (temperature 0.7), and the answer must still be the model's one sentence.
  writeTinyCausalLm(join(modelsDir, MODEL), { dtypes: ['q4'], margin: 40 });
});
test.afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));
const suite = bridgeSuite(() => ['--models-dir', modelsDir]);

let a: OpenNode;

async function openAsk(node: OpenNode): Promise<void> {
  await node.page.getByTestId('nav-ask').click();
  await expect(node.page.getByTestId('ask-page')).toBeVisible();
}

test('a tab without a GPU runs a small model from the bridge mirror and offers it to the mesh', async ({ browser }) => {
  a = await suite.open(browser);
  await openAsk(a);
  const card = a.page.getByTestId('device-model-card');
  // This machine has no GPU: WebLLM is not offered, and the card says why.
  await expect(card.getByTestId('device-model-webgpu')).toHaveAttribute('data-usable', 'false');
  await expect(card.getByTestId('device-model-mirror')).toHaveAttribute('data-mirror', 'available');
  const option = card.locator(`[data-testid="device-model-option"][data-id="${MODEL}"]`);
  await expect(option).toHaveAttribute('data-source', 'mirror');
  await expect(option).toHaveAttribute('data-backend', 'transformers');
  await option.getByTestId('device-model-run').click();
  await expect(card.getByTestId('device-model-chosen')).toHaveAttribute('data-phase', 'ready', { timeout: 60_000 });
  await expect(card.getByTestId('device-model-ready')).toBeVisible();
});

test('another tab asks and the model in the first tab answers, streamed', async ({ browser }) => {
  const b = await suite.open(browser);
  await openAsk(b);
  await expect(b.page.getByTestId('ask-model').locator(`option[value="${MODEL}"]`)).toHaveCount(1, { timeout: 30_000 });
  await b.page.getByTestId('ask-input').fill('Wie mache ich Wasser trinkbar?');
  await b.page.getByTestId('ask-send').click();
  const answer = b.page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(answer).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
  await expect(answer.getByTestId('answer-text')).toHaveText(TINY_CHAT_ANSWER);
  await expect(answer.getByTestId('answer-served-by')).toHaveAttribute('data-node-id', a.nodeId);
  await expect(answer.getByTestId('answer-model')).toContainText(MODEL);
});

test('the model comes back after a reload, and stopping it frees it and withdraws the offer', async () => {
  await a.page.reload();
  await openAsk(a);
  const card = a.page.getByTestId('device-model-card');
  await expect(card.getByTestId('device-model-chosen')).toHaveAttribute('data-phase', 'ready', { timeout: 60_000 });
  await card.getByTestId('device-model-unload').click();
  await expect(card.getByTestId('device-model-chosen')).toHaveCount(0);
  await expect(card.locator(`[data-testid="device-model-option"][data-id="${MODEL}"]`)).toBeVisible();
  await expect(a.page.getByTestId('ask-no-provider')).toBeVisible({ timeout: 15_000 });
});

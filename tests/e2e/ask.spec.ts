import { expect, test } from '@playwright/test';
import { startOpenAiStandIn, type OpenAiStandIn } from '../support/openai-standin.js';
import type { OpenNode } from './app.js';
import { bridgeSuite } from './suite.js';

/**
 * Issue 5's headline, as far as this machine allows: a tab offers a model through an OpenAI-compatible server (the
 * stand-in, the only test double: it stands for Ollama on that laptop), and two tabs without a model ask on the
 * Ask page and watch the answer stream in, with the answering tab named.
 */
const suite = bridgeSuite();
let standIn: OpenAiStandIn;
let a: OpenNode;

test.beforeAll(async ({ browser }) => {
  standIn = await startOpenAiStandIn({ models: ['hearth-7b'], tokenDelayMs: 20, replyTokens: 30 });
  // The tab that offers a model: every test here asks it.
  a = await suite.open(browser);
  await openAsk(a);
  await a.page.getByTestId('llm-server-url').fill(standIn.url);
  await a.page.getByTestId('llm-server-save').click();
  await expect(a.page.getByTestId('llm-server-models')).toContainText('hearth-7b');
});

test.afterAll(async () => {
  await standIn?.close();
});

async function openAsk(node: OpenNode): Promise<void> {
  await node.page.getByTestId('nav-ask').click();
  await expect(node.page.getByTestId('ask-page')).toBeVisible();
}

test('a question asked in two tabs without a model is answered by the tab that offers one, streamed', async ({ browser }) => {
  for (const question of ['Wo gibt es heute Trinkwasser?', 'Who has a generator?']) {
    const asker = await suite.open(browser);
    await openAsk(asker);
    await expect(asker.page.getByTestId('ask-model').locator('option[value="hearth-7b"]')).toHaveCount(1, { timeout: 30_000 });
    await asker.page.getByTestId('ask-input').fill(question);
    await asker.page.getByTestId('ask-send').click();
    const answer = asker.page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
    // Streamed: text is visible while the answer (30 tokens, 20 ms apart) is still arriving, then it is done.
    await expect(answer).toHaveAttribute('data-status', 'streaming');
    await expect(answer.getByTestId('answer-text')).not.toBeEmpty();
    await expect(answer).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
    await expect(answer.getByTestId('answer-served-by')).toHaveAttribute('data-node-id', a.nodeId, { timeout: 30_000 });
    await expect(answer.getByTestId('answer-model')).toContainText('hearth-7b');
    const words = ((await answer.getByTestId('answer-text').textContent()) ?? '').trim().split(/\s+/);
    expect(words).toHaveLength(30);
  }
  const asked = standIn.requests.filter((r) => r.path === '/v1/chat/completions');
  expect(asked).toHaveLength(2);
});

test('Stop ends the answer and cancels the generation at the model server', async ({ browser }) => {
  standIn.configure({ tokenDelayMs: 200, replyTokens: 200 });
  const asker = await suite.open(browser);
  await openAsk(asker);
  // A fresh tab meshes first: ask once the provider's model is listed, as a person would see it.
  await expect(asker.page.getByTestId('ask-model').locator('option[value="hearth-7b"]')).toHaveCount(1, { timeout: 30_000 });
  await asker.page.getByTestId('ask-input').fill('Erzähl mir alles über Notfallvorräte.');
  await asker.page.getByTestId('ask-send').click();
  const answer = asker.page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(answer.getByTestId('answer-text')).not.toBeEmpty();
  const before = standIn.requests.length;
  await asker.page.getByTestId('ask-stop').click();
  await expect(answer).toHaveAttribute('data-status', 'stopped');
  const shown = await answer.getByTestId('answer-text').textContent();
  // The stand-in sees its client go away: the provider's handler stopped and its HTTP request was aborted.
  await expect.poll(() => standIn.requests.slice(0, before).some((r) => r.path === '/v1/chat/completions' && r.clientDisconnected), { timeout: 10_000 }).toBe(true);
  const last = standIn.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)!;
  expect(last.tokensSent).toBeLessThan(200);
  await expect(answer.getByTestId('answer-text')).toHaveText(shown ?? ''); // nothing more arrived after Stop
});


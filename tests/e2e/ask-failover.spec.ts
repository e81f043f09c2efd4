import { expect, test } from '@playwright/test';
import { startOpenAiStandIn, type OpenAiStandIn } from '../support/openai-standin.js';
import type { OpenNode } from './app.js';
import { createCommunity, createInvite, joinByLink } from './community-steps.js';
import { bridgeSuite } from './suite.js';

/**
 * Issue 5: two places to ask. Tab A offers a model from "its laptop's Ollama", the bridge offers a bigger one from
 * the server it was configured with (`--llm-server-url`, both stand-ins of the OpenAI HTTP protocol). B asks A's
 * model; when A leaves, B's next question in the same conversation is answered by the bridge, with the history.
 */
let tabModel: OpenAiStandIn;
let bridgeModel: OpenAiStandIn;
test.beforeAll(async () => {
  tabModel = await startOpenAiStandIn({ models: ['hearth-laptop-7b'], tokenDelayMs: 10, replyTokens: 12 });
  bridgeModel = await startOpenAiStandIn({ models: ['hearth-bridge-3b'], tokenDelayMs: 10, replyTokens: 12 });
});
test.afterAll(async () => {
  await tabModel?.close();
  await bridgeModel?.close();
});
// Registered after the stand-ins' beforeAll, so their URLs exist when the bridge starts.
const suite = bridgeSuite(() => ['--llm-server-url', bridgeModel.url]);

let a: OpenNode;
let b: OpenNode;

function lastAnswer(node: OpenNode) {
  return node.page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
}

async function ask(node: OpenNode, question: string): Promise<void> {
  await node.page.getByTestId('ask-input').fill(question);
  await node.page.getByTestId('ask-send').click();
  await expect(lastAnswer(node)).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
}

test('a question goes to the chosen tab; when that tab leaves, the conversation continues on the bridge', async ({ browser }) => {
  a = await suite.open(browser);
  await createCommunity(a, 'Am Brunnen', 1);
  await expect(a.page.getByTestId('bridge-line')).toHaveAttribute('data-bridge-member', 'true', { timeout: 60_000 });
  b = await suite.open(browser);
  await joinByLink(b, await createInvite(a.page));

  await a.page.getByTestId('nav-ask').click();
  await a.page.getByTestId('llm-server-url').fill(tabModel.url);
  await a.page.getByTestId('llm-server-save').click();
  await expect(a.page.getByTestId('llm-server-models')).toContainText('hearth-laptop-7b');

  await b.page.getByTestId('nav-ask').click();
  const choice = b.page.getByTestId('ask-model');
  await expect(choice.locator('option[value="hearth-laptop-7b"]')).toHaveCount(1, { timeout: 30_000 });
  await expect(choice.locator('option[value="hearth-bridge-3b"]')).toHaveCount(1, { timeout: 30_000 });
  await choice.selectOption('hearth-laptop-7b');
  await ask(b, 'Wer hat einen Generator?');
  await expect(lastAnswer(b).getByTestId('answer-served-by')).toHaveAttribute('data-node-id', a.nodeId);
  await expect(lastAnswer(b).getByTestId('answer-model')).toContainText('hearth-laptop-7b');
  const firstAnswer = ((await lastAnswer(b).getByTestId('answer-text').textContent()) ?? '').trim();

  // A's laptop goes home. Its model leaves B's choices, and B is told where the conversation goes on.
  await a.context.close();
  await expect(choice.locator('option[value="hearth-laptop-7b"]')).toHaveCount(0, { timeout: 30_000 });
  await expect(b.page.getByTestId('ask-model-gone')).toContainText('hearth-laptop-7b');

  await ask(b, 'Und wo bekomme ich Diesel?');
  const second = lastAnswer(b);
  await expect(second.getByTestId('answer-model')).toContainText('hearth-bridge-3b');
  const servedBy = await second.getByTestId('answer-served-by').getAttribute('data-node-id');
  expect(servedBy).not.toBe(a.nodeId);
  expect(servedBy).not.toBe(b.nodeId);
  // The bridge's model server was asked with the whole conversation, A's answer included.
  const asked = bridgeModel.requests.filter((r) => r.path === '/v1/chat/completions');
  expect(asked).toHaveLength(1);
  const messages = (asked[0].body as { messages: { role: string; content: string }[] }).messages;
  expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  expect(messages[1].content.trim()).toBe(firstAnswer);
  expect(messages[2].content).toBe('Und wo bekomme ich Diesel?');
});

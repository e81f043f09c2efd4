import { expect, test } from '@playwright/test';
import { startOpenAiStandIn, type OpenAiStandIn } from '../support/openai-standin.js';
import { buildTinyPdf } from '../support/tiny-pdf.js';
import type { OpenNode } from './app.js';
import { communityPage, createCommunity, createInvite, joinByLink } from './community-steps.js';
import { bridgeSuite } from './suite.js';

/**
 * Issue 6's library: the anchor (trusted) ingests a small PDF the test builds; a member in another tab sees the
 * document in the library, asks on the Ask page with the library chosen, and sees the answer cite the right page.
 * The only test double is the model server (the OpenAI stand-in, offered by the anchor's tab).
 */
const suite = bridgeSuite();
let standIn: OpenAiStandIn;
let anchor: OpenNode;
let member: OpenNode;

const GUIDE = buildTinyPdf([
  'Generator safety\n\nNever run a generator indoors or in a garage. Carbon monoxide has no smell and kills within minutes. Keep it outside, three metres from windows.',
  'Water purification\n\nBring cloudy water to a rolling boil for one minute; above 2000 metres boil it for three minutes. Let it cool covered, then store it in clean containers.',
  'First aid for bleeding\n\nPress firmly on the wound with a clean cloth and keep pressing for ten minutes. Raise the injured limb above the heart if nothing is broken.'
]);

test.beforeAll(async ({ browser }) => {
  standIn = await startOpenAiStandIn({ models: ['hearth-7b'], tokenDelayMs: 5, replyText: 'Boil the water for one full minute [1].' });
  anchor = await suite.open(browser);
  await createCommunity(anchor, 'Lindenstraße', 1);
  const link = await createInvite(anchor.page);
  member = await suite.open(browser);
  await joinByLink(member, link);
  await communityPage(anchor, 'member');
  // The anchor's tab offers the model, as a laptop with Ollama would.
  await anchor.page.getByTestId('nav-ask').click();
  await anchor.page.getByTestId('llm-server-url').fill(standIn.url);
  await anchor.page.getByTestId('llm-server-save').click();
  await expect(anchor.page.getByTestId('llm-server-models')).toContainText('hearth-7b');
});

test.afterAll(async () => {
  await standIn?.close();
});

test('a trusted member ingests a PDF and every member sees it in the library', async () => {
  await anchor.page.getByTestId('nav-library').click();
  await anchor.page.getByTestId('ingest-corpus').fill('emergency');
  await anchor.page.getByTestId('ingest-title').fill('Emergency guide');
  await anchor.page.getByTestId('ingest-file').setInputFiles({ name: 'emergency-guide.pdf', mimeType: 'application/pdf', buffer: Buffer.from(GUIDE) });
  await anchor.page.getByTestId('ingest-submit').click();
  await expect(anchor.page.getByTestId('ingest-row').first()).toHaveAttribute('data-phase', 'done', { timeout: 30_000 });

  await member.page.getByTestId('nav-library').click();
  const corpus = member.page.locator('[data-testid="corpus-card"][data-corpus="emergency"]');
  await expect(corpus.getByTestId('library-doc')).toContainText('Emergency guide', { timeout: 30_000 });
  // A member may not ingest (contract §4.5: trusted only), and the page says why instead of offering the form.
  await expect(member.page.getByTestId('ingest-submit')).toHaveCount(0);
});

test('a member asks with the library and the answer cites the passage and its page', async () => {
  await member.page.getByTestId('nav-ask').click();
  await expect(member.page.getByTestId('ask-model').locator('option[value="hearth-7b"]')).toHaveCount(1, { timeout: 30_000 });
  await member.page.getByTestId('ask-corpus').selectOption('emergency');
  await member.page.getByTestId('ask-input').fill('How long must I boil water to make it safe?');
  await member.page.getByTestId('ask-send').click();
  const answer = member.page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
  await expect(answer).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
  await expect(answer.getByTestId('answer-text')).toContainText('one full minute');

  // The prompt the model got carried the retrieved passage, numbered.
  const prompt = JSON.stringify(standIn.requests.at(-1)?.body ?? '');
  expect(prompt).toContain('rolling boil');
  expect(prompt).toContain('[1]');

  const source = answer.locator('[data-testid="ask-source"][data-n="1"]');
  await expect(source).toContainText('Emergency guide');
  await expect(source).toContainText('2'); // page 2
  await answer.locator('[data-testid="citation"][data-n="1"]').first().click();
  await expect(answer.getByTestId('source-passage').first()).toContainText('rolling boil');
});

test('with no model in reach, the Ask page still shows the best passages', async () => {
  await anchor.page.getByTestId('nav-ask').click();
  await anchor.page.getByTestId('llm-server-stop').click();
  await expect(anchor.page.getByTestId('llm-server-off')).toBeVisible();
  await expect(member.page.getByTestId('ask-model').locator('option[value="hearth-7b"]')).toHaveCount(0, { timeout: 30_000 });
  await member.page.getByTestId('ask-input').fill('What should I do about carbon monoxide from a generator?');
  await member.page.getByTestId('ask-send').click();
  const sources = member.page.getByTestId('ask-sources').last();
  await expect(sources.locator('[data-testid="ask-source"][data-n="1"]')).toContainText('Emergency guide', { timeout: 30_000 });
  await expect(sources.getByTestId('source-passage').first()).toContainText('Carbon monoxide');
});

test('the bridge indexes the document too, so the library answers after the member who added it has gone', async () => {
  await member.page.getByTestId('nav-library').click();
  const corpus = member.page.locator('[data-testid="corpus-card"][data-corpus="emergency"]');
  // The guide is indexed by two nodes: the anchor, and the bridge's own copy (it announces what it indexed).
  await expect(corpus.getByTestId('library-doc')).toHaveCount(1);
  await expect(corpus.getByTestId('library-doc-holder')).toHaveCount(2, { timeout: 30_000 });
  await anchor.context.close();
  suite.nodes.splice(suite.nodes.indexOf(anchor), 1);
  await member.page.getByTestId('library-corpus').selectOption('emergency');
  await member.page.getByTestId('library-query').fill('how long to boil drinking water');
  await member.page.getByTestId('library-search').click();
  const first = member.page.getByTestId('library-passage').first();
  await expect(first).toContainText('rolling boil', { timeout: 30_000 });
  await expect(first).toHaveAttribute('data-page', '2');
});

import { expect, test, type Locator } from '@playwright/test';
import { showMesh, type OpenNode } from './app.js';
import { bridgeSuite } from './suite.js';

/**
 * The capability bus across real browser tabs: one profile offers experimental.echo, another calls it without
 * naming a node, and both Mesh pages show the route — who called, who served, over which link.
 */
const suite = bridgeSuite();
let provider: OpenNode;
let caller: OpenNode;

const ECHO = 'experimental.echo@1.0';

function capabilityRow(node: OpenNode, on: OpenNode): Locator {
  return node.page.locator(`[data-testid="capability-row"][data-capability="${ECHO}"][data-node-id="${on.nodeId}"]`);
}

// Runs after the suite's own beforeAll, which started the bridge.
test.beforeAll(async ({ browser }) => {
  provider = await suite.open(browser);
  caller = await suite.open(browser);
  for (const node of [provider, caller]) {
    await showMesh(node);
    await expect(node.page.locator('[data-testid="peer-row"][data-path="webrtc"]')).toHaveCount(1);
  }
});

test('a capability offered in one tab appears in the other', async () => {
  await expect(capabilityRow(caller, provider)).toHaveCount(0);
  await provider.page.getByTestId('echo-toggle').check();
  await expect(capabilityRow(provider, provider)).toHaveAttribute('data-local', 'true');
  // It reaches the neighbour with the next manifest, which is sent as soon as the offer changes.
  await expect(capabilityRow(caller, provider).getByTestId('capability-node')).toHaveText(/^Neighbour [A-Z2-7]{4}$/);
  await expect(capabilityRow(caller, provider).getByTestId('capability-state')).toHaveText('ready');
  // Only the provider offers it: the caller has no echo of its own.
  await expect(capabilityRow(caller, caller)).toHaveCount(0);
});

test('the bus routes the call to the only provider, and both traces show the route', async () => {
  const page = caller.page;
  await page.getByTestId('call-capability').selectOption(ECHO);
  await page.getByTestId('call-body').fill('{"input": {"text": "is anyone there?"}}');
  await page.getByTestId('call-submit').click();
  const outcome = page.getByTestId('call-outcome');
  await expect(outcome).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('call-route')).toContainText('via WebRTC');
  const output = JSON.parse((await page.getByTestId('call-output').textContent()) ?? '{}');
  expect(output.output).toMatchObject({ text: 'is anyone there?', served_by: provider.nodeId, repeat: 1 });

  const sent = page.locator(`[data-testid="call-row"][data-direction="out"][data-capability="experimental.echo"]`).first();
  await expect(sent).toHaveAttribute('data-to', provider.nodeId);
  await expect(sent).toHaveAttribute('data-from', caller.nodeId);
  await expect(sent).toHaveAttribute('data-path', 'webrtc');
  await expect(sent).toHaveAttribute('data-result', 'ok');
  const traceId = await sent.getAttribute('data-trace-id');
  expect(traceId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

  // The provider's page shows the same call, by the same trace id, as served for the caller.
  const served = provider.page.locator(`[data-testid="call-row"][data-trace-id="${traceId}"]`);
  await expect(served).toHaveAttribute('data-direction', 'in');
  await expect(served).toHaveAttribute('data-from', caller.nodeId);
  await expect(served).toHaveAttribute('data-to', provider.nodeId);
  await expect(served).toHaveAttribute('data-result', 'ok');
});

test('a streamed answer crosses the mesh frame by frame and ends once', async () => {
  const page = caller.page;
  await page.getByTestId('call-capability').selectOption(ECHO);
  await page.getByTestId('call-body').fill('{"input": {"text": "tick", "repeat": 60}}');
  await page.getByTestId('call-stream').check();
  await page.getByTestId('call-submit').click();
  await expect(page.getByTestId('call-outcome')).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('call-route')).toContainText('60 events');
  const output = JSON.parse((await page.getByTestId('call-output').textContent()) ?? '{}');
  expect(output.output).toMatchObject({ text: 'tick', repeat: 60, served_by: provider.nodeId });
  const sent = page.locator('[data-testid="call-row"][data-direction="out"][data-capability="experimental.echo"]').first();
  await expect(sent).toHaveAttribute('data-result', 'ok');
  const traceId = await sent.getAttribute('data-trace-id');
  await expect(provider.page.locator(`[data-testid="call-row"][data-trace-id="${traceId}"]`)).toHaveAttribute('data-result', 'ok');
});

test('a body outside the schema is refused by the provider with a reason', async () => {
  const page = caller.page;
  await page.getByTestId('call-stream').uncheck();
  await page.getByTestId('call-body').fill('{"input": {"text": 42}}');
  await page.getByTestId('call-submit').click();
  await expect(page.getByTestId('call-outcome')).toHaveAttribute('data-ok', 'false');
  await expect(page.getByTestId('call-error')).toContainText('schema_mismatch');
  await expect(page.getByTestId('call-error')).toContainText('/input/text must be string');
});

test('a caller that closes its tab mid-stream stops the provider\'s handler and frees its slot', async ({ browser }) => {
  const leaver = await suite.open(browser);
  try {
    await showMesh(leaver);
    await expect(capabilityRow(leaver, provider)).toHaveCount(1);
    const page = leaver.page;
    await page.getByTestId('call-capability').selectOption(ECHO);
    await page.getByTestId('call-node').selectOption(provider.nodeId);
    // 200 tokens 50 ms apart: ten seconds of stream, of which we watch a few.
    await page.getByTestId('call-body').fill('{"input": {"text": "still here?", "repeat": 200, "interval_ms": 50}}');
    await page.getByTestId('call-stream').check();
    await page.getByTestId('call-submit').click();
    await expect(page.getByTestId('call-events')).toHaveText(/^([5-9]|\d\d+) events so far/);
    await expect(capabilityRow(provider, provider)).toContainText('1/16');
  } finally {
    await leaver.context.close();
  }
  // The provider sees the link close, aborts the handler and records the call as cancelled, long before its end.
  const served = provider.page.locator(`[data-testid="call-row"][data-direction="in"][data-from="${leaver.nodeId}"]`);
  await expect(served).toHaveAttribute('data-result', 'cancelled');
  await expect(capabilityRow(provider, provider)).toContainText('0/16');
});

test('withdrawing the offer removes it from the neighbour', async () => {
  await provider.page.getByTestId('echo-toggle').uncheck();
  await expect(capabilityRow(provider, provider)).toHaveCount(0);
  await expect(capabilityRow(caller, provider)).toHaveCount(0);
});

test('every tab offers embeddings with no model downloaded, and a neighbour answers with vectors named by model', async () => {
  const page = caller.page;
  await page.getByTestId('call-capability').selectOption('embed.text@1.0');
  await page.getByTestId('call-node').selectOption(provider.nodeId);
  await page.getByTestId('call-body').fill('{"input": {"texts": ["Wasser abkochen", "Generator nie im Haus betreiben"]}}');
  await page.getByTestId('call-submit').click();
  await expect(page.getByTestId('call-outcome')).toHaveAttribute('data-ok', 'true');
  const answer = JSON.parse((await page.getByTestId('call-output').textContent()) ?? '{}');
  expect(answer.meta).toMatchObject({ model: 'hearth-hashed-ngrams-v1', served_by: provider.nodeId });
  expect(answer.output.embeddings).toHaveLength(2);
  for (const vector of answer.output.embeddings as number[][]) {
    expect(vector).toHaveLength(answer.output.dim);
    expect(Math.abs(Math.hypot(...vector) - 1)).toBeLessThan(1e-3); // unit length
  }
});

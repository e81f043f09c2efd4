import { expect, test } from '@playwright/test';
import { peerRow, showMesh } from './app.js';
import { blockDirectLinks, restoreDirectLinks } from './network.js';
import { bridgeSuite } from './suite.js';

const suite = bridgeSuite();

test.afterAll(() => {
  restoreDirectLinks();
});

test('when WebRTC is blocked the relay path carries signed pings, and the Mesh page says so', async ({ browser }) => {
  blockDirectLinks();
  const a = await suite.open(browser);
  const b = await suite.open(browser);
  for (const [node, other] of [
    [a, b],
    [b, a]
  ] as const) {
    await showMesh(node);
    await expect(peerRow(node, other)).toHaveAttribute('data-path', 'relay', { timeout: 20_000 });
    await expect(peerRow(node, other).getByTestId('peer-path')).toHaveText('Relay (via bridge)');
    await expect(peerRow(node, other).getByTestId('peer-rtt')).toHaveText(/ms$/);
  }
  const row = peerRow(a, b);
  await row.getByTestId('peer-ping').click();
  await expect(row.getByTestId('ping-result')).toHaveText(/^\d+(\.\d+)? ms$/);
  await a.context.close();
  await b.context.close();
});

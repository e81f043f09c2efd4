import { expect, test } from '@playwright/test';
import { bridgeSuite } from './suite.js';

const suite = bridgeSuite();

test('after one visit the app loads from the service worker with the bridge stopped, same identity', async ({ browser }) => {
  const node = await suite.open(browser);
  await expect(node.page.getByTestId('bridge-status')).toHaveText('Bridge connected');
  // The service worker takes control shortly after the first load; wait for that condition, not a fixed time.
  await node.page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 });

  await suite.bridge.stop();
  await node.page.reload();
  await expect(node.page.getByTestId('short-id')).toHaveText(node.shortId);
  await expect(node.page.getByTestId('bridge-status')).toHaveText('Bridge unreachable');

  // A deep link in a new tab of the same profile also comes from the cache; it is a second tab, so it defers
  // to the tab that runs the node.
  const second = await node.context.newPage();
  await second.goto(suite.bridge.url + '/mesh');
  await expect(second.getByRole('heading', { name: 'Mesh' })).toBeVisible();
  await expect(second.getByTestId('follower-notice')).toBeVisible();

  // Closing the first tab hands the node to the second, with the same key.
  await node.page.close();
  await second.getByRole('link', { name: 'Home' }).click();
  await expect(second.getByTestId('short-id')).toHaveText(node.shortId);
  await expect(second.getByTestId('follower-notice')).toHaveCount(0);

  await suite.bridge.restart();
  await expect(second.getByTestId('bridge-status')).toHaveText('Bridge connected', { timeout: 45_000 });
  await node.context.close();
});

import { expect, test } from '@playwright/test';
import { peerRow, showMesh, type OpenNode } from './app.js';
import { bridgeSuite } from './suite.js';

const suite = bridgeSuite();
/** The profiles still open, in the order they were opened (the suite closes every one it opened at the end). */
const nodes: OpenNode[] = [];

test('three browser profiles form a mesh and each sees the other two over WebRTC', async ({ browser }) => {
  for (let i = 0; i < 3; i++) nodes.push(await suite.open(browser));
  expect(new Set(nodes.map((n) => n.nodeId)).size).toBe(3);
  for (const node of nodes) {
    await showMesh(node);
    await expect(node.page.getByTestId('peer-row')).toHaveCount(2);
    for (const other of nodes.filter((n) => n !== node)) {
      const row = peerRow(node, other);
      await expect(row.getByTestId('peer-short-id')).toHaveText(other.shortId);
      await expect(row).toHaveAttribute('data-path', 'webrtc');
      await expect(row.getByTestId('peer-rtt')).toHaveText(/ms$/);
    }
  }
});

test('a signed ping crosses WebRTC and reports its round trip', async () => {
  const [a, b] = nodes;
  const row = peerRow(a, b);
  await row.getByTestId('peer-ping').click();
  await expect(row.getByTestId('ping-result')).toHaveText(/^\d+(\.\d+)? ms$/);
  await expect(row).toHaveAttribute('data-path', 'webrtc');
});

test('a new display name reaches the neighbours', async () => {
  const [a, b] = nodes;
  await a.page.getByRole('link', { name: 'Home' }).click();
  await a.page.getByTestId('name-edit').click();
  // A blank name is refused with a reason, and nothing is saved.
  await a.page.getByTestId('name-input').fill('   ');
  await a.page.getByTestId('name-save').click();
  await expect(a.page.getByRole('alert')).toHaveText(/display name must not be empty/);
  await a.page.getByTestId('name-input').fill('Kitchen tablet');
  await a.page.getByTestId('name-save').click();
  await expect(a.page.getByTestId('display-name')).toHaveText('Kitchen tablet');
  await expect(peerRow(b, a).getByTestId('peer-name')).toHaveText('Kitchen tablet');
});

test('a closed tab leaves the other meshes at once', async () => {
  const gone = nodes.pop()!;
  await showMesh(nodes[0]); // the rename test left it on Home
  await gone.context.close();
  for (const node of nodes) {
    await expect(peerRow(node, gone)).toHaveCount(0);
    await expect(node.page.getByTestId('peer-row')).toHaveCount(1);
  }
});

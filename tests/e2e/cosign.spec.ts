import { expect, test } from '@playwright/test';
import type { OpenNode } from './app.js';
import { communityPage, createCommunity, createInvite, joinByLink } from './community-steps.js';
import { bridgeSuite } from './suite.js';

/**
 * Removing a member where the policy needs two trusted signatures: the anchor asks, a trusted member approves on
 * their own device, and only then is the member removed (contract §4.18).
 */
const suite = bridgeSuite();
let a: OpenNode;
let b: OpenNode;
let c: OpenNode;

function row(node: OpenNode, member: OpenNode) {
  return node.page.locator(`[data-testid="member-row"][data-node-id="${member.nodeId}"]`);
}

test('a revocation needing two trusted signatures waits for a co-signer, and a declined one is not written', async ({ browser }) => {
  a = await suite.open(browser);
  await createCommunity(a, 'Hofgarten', 2);
  b = await suite.open(browser);
  await joinByLink(b, await createInvite(a.page));
  c = await suite.open(browser);
  await joinByLink(c, await createInvite(a.page));
  await communityPage(a, 'member');
  await row(a, b).locator('[data-testid="member-promote"][data-level="trusted"]').click();
  await a.page.getByTestId('promote-dialog-confirm').click();
  await expect(b.page.getByTestId('community-level')).toHaveAttribute('data-level', 'trusted', { timeout: 30_000 });

  // First attempt: B declines; C stays a member.
  await row(a, c).getByTestId('member-revoke').click();
  await a.page.getByTestId('revoke-reason').selectOption('inactive');
  await a.page.getByTestId('revoke-dialog-confirm').click();
  const request = b.page.locator(`[data-testid="cosign-request"][data-target="${c.nodeId}"]`);
  await expect(request).toBeVisible({ timeout: 30_000 });
  await request.getByTestId('cosign-decline').click();
  // The answered request leaves B's list before the next one can arrive (else the next step could click the old one).
  await expect(request).toHaveCount(0);
  await expect(a.page.getByTestId('revoke-dialog-error')).toContainText('2 trusted signatures');
  await a.page.getByTestId('revoke-dialog-cancel').click();
  await expect(row(a, c)).toHaveAttribute('data-level', 'member');

  // Second attempt: B co-signs; C is removed everywhere.
  await row(a, c).getByTestId('member-revoke').click();
  await a.page.getByTestId('revoke-reason').selectOption('compromised');
  await a.page.getByTestId('revoke-dialog-confirm').click();
  await expect(request).toBeVisible({ timeout: 30_000 });
  await request.getByTestId('cosign-approve').click();
  await expect(a.page.getByTestId('revoked-row')).toHaveCount(1, { timeout: 30_000 });
  await expect(b.page.getByTestId('revoked-row')).toHaveCount(1, { timeout: 30_000 });
  await expect(c.page.getByTestId('community-revoked')).toBeVisible({ timeout: 30_000 });
});

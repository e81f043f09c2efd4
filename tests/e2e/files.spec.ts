import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { peerRow, showMesh, type OpenNode } from './app.js';
import { bridgeSuite } from './suite.js';

/**
 * Issue 6's file transfer: a 5 MB file added in one tab moves to another over WebRTC in verified chunks, with a
 * progress bar, and arrives byte-identical. No community: in the open room every linked peer is a member.
 */
const suite = bridgeSuite();
let a: OpenNode;
let b: OpenNode;

/** Deterministic bytes that do not compress or repeat per chunk (a counter through SHA-256). */
function testBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, i = 0; offset < size; i++, offset += 32) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, offset);
  return out;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function openFiles(node: OpenNode): Promise<void> {
  await node.page.getByTestId('nav-files').click();
  await expect(node.page.getByTestId('drop-zone')).toBeVisible();
}

test.beforeAll(async ({ browser }) => {
  a = await suite.open(browser);
  b = await suite.open(browser);
  await showMesh(a);
  await expect(peerRow(a, b)).toHaveAttribute('data-path', 'webrtc', { timeout: 30_000 });
});

test('a 5 MB file added in one tab downloads in another with a progress bar and arrives byte-identical', async () => {
  const bytes = testBytes(5 * 1024 * 1024 + 12_345, 'five-megabytes');
  await openFiles(a);
  await a.page.getByTestId('file-input').setInputFiles({ name: 'rainwater-guide.bin', mimeType: 'application/octet-stream', buffer: bytes });
  const added = a.page.getByTestId('file-row').filter({ hasText: 'rainwater-guide.bin' });
  await expect(added.getByTestId('file-local')).toHaveAttribute('data-local', 'complete', { timeout: 30_000 });
  const cid = (await added.getAttribute('data-cid')) ?? '';
  expect(cid).toMatch(/^blake3:[0-9a-f]{64}$/);

  await openFiles(b);
  const row = b.page.locator(`[data-testid="file-row"][data-cid="${cid}"]`);
  // A told its linked peers it holds the file (file.advertise): B lists it with A as the holder.
  await expect(row.getByTestId('file-holders')).toContainText(`Neighbour ${a.shortId.slice(8, 12)}`, { timeout: 30_000 });
  await expect(row.getByTestId('file-local')).toHaveAttribute('data-local', 'none');
  const started = Date.now();
  await row.getByTestId('file-download').click();

  const progress = b.page.locator(`[data-testid="transfer-progress"][data-cid="${cid}"]`);
  await expect(progress).toBeVisible();
  await expect(row.getByTestId('file-local')).toHaveAttribute('data-local', 'complete', { timeout: 60_000 });
  await expect(progress).toHaveAttribute('value', String(bytes.length));
  const transfer = b.page.locator('[data-testid="transfer"][data-phase="done"]');
  await expect(transfer).toHaveCount(1);
  await expect(transfer.getByTestId('transfer-phase')).toHaveText('Done');
  console.log(`5 MB between tabs: ${Date.now() - started} ms from Download to complete, page showed ${await transfer.getByTestId('transfer-speed').textContent()}`);

  const download = b.page.waitForEvent('download');
  await row.getByTestId('file-save').click();
  const saved = await readFile((await (await download).path())!);
  expect(saved.length).toBe(bytes.length);
  expect(sha256(saved)).toBe(sha256(bytes));
});

test('a download cut off when the holder drops off the network keeps what arrived, resumes from there, and arrives intact', async () => {
  // Large enough that the link can be cut while it runs (about 25 MiB/s here: 48 MiB takes about 2 s).
  const bytes = testBytes(48 * 1024 * 1024, 'resume');
  await openFiles(a);
  await a.page.getByTestId('file-input').setInputFiles({ name: 'flood-maps.bin', mimeType: 'application/octet-stream', buffer: bytes });
  const added = a.page.getByTestId('file-row').filter({ hasText: 'flood-maps.bin' });
  await expect(added.getByTestId('file-local')).toHaveAttribute('data-local', 'complete', { timeout: 60_000 });
  const cid = (await added.getAttribute('data-cid')) ?? '';
  await showMesh(a);

  await openFiles(b);
  const row = b.page.locator(`[data-testid="file-row"][data-cid="${cid}"]`);
  await expect(row.getByTestId('file-holders')).toContainText(`Neighbour ${a.shortId.slice(8, 12)}`, { timeout: 30_000 });
  await row.getByTestId('file-download').click();
  // Cut A off the network once a tenth has arrived: the download fails, keeping what it verified and stored.
  await b.page.waitForFunction((c) => {
    const bar = document.querySelector(`[data-testid="transfer-progress"][data-cid="${c}"]`) as HTMLProgressElement | null;
    return bar !== null && bar.max > 0 && bar.value / bar.max >= 0.1;
  }, cid, { polling: 20, timeout: 30_000 });
  await a.page.getByTestId('mesh-disconnect').check();
  const transfer = b.page.locator(`[data-testid="transfer"][data-cid="${cid}"]`);
  await expect(transfer).toHaveAttribute('data-phase', 'failed', { timeout: 30_000 });
  await expect(row.getByTestId('file-local')).toHaveAttribute('data-local', 'partial');
  const held = Number(await row.getAttribute('data-chunks-held'));

  // A comes back; Resume asks only for what is missing, and the file is whole.
  await a.page.getByTestId('mesh-disconnect').uncheck();
  await expect(peerRow(a, b)).toBeVisible({ timeout: 30_000 });
  await transfer.getByTestId('transfer-resume').click();
  await expect(row.getByTestId('file-local')).toHaveAttribute('data-local', 'complete', { timeout: 60_000 });
  expect(held).toBeGreaterThan(0);
  const download = b.page.waitForEvent('download');
  await row.getByTestId('file-save').click();
  const saved = await readFile((await (await download).path())!);
  expect(sha256(saved)).toBe(sha256(bytes));
});

import { expect, test } from '@playwright/test';
import { monotonicFactory } from 'ulid';
import { decodeSignature, encodeSignature, verifyPayload } from '../../src/lib/core/index.js';
import { showMesh } from './app.js';
import { Intruder } from './intruder.js';
import { bridgeSuite } from './suite.js';

const suite = bridgeSuite();
const nextId = monotonicFactory();

const ping = { input: { payload: 'are you there?' } };

test('forged, replayed and stale frames through the relay are refused with the contract codes (P2-P4)', async ({ browser }) => {
  const node = await suite.open(browser);
  await showMesh(node);
  const intruder = await Intruder.join(suite.bridge.url);
  await intruder.introduce(node.nodeId);
  // The node verified our manifest: it lists us, on the relay path.
  const row = node.page.locator(`[data-testid="peer-row"][data-node-id="${intruder.keyPair.nodeId}"]`);
  await expect(row).toHaveAttribute('data-path', 'relay');

  const signer = intruder.signer();
  const call = (requestId: string) => signer.call({ capability: 'experimental.ping', version: '1.0', requestId, community: 'hearthnet:open', body: ping });

  // A genuine call is served, and the answer is signed by the node.
  const genuine = await call(nextId());
  intruder.send(node.nodeId, genuine);
  const answer = await intruder.responseTo(genuine.call.request_id);
  expect(answer.body).toMatchObject({ output: { payload: 'are you there?' } });
  expect(await verifyPayload(answer, node.nodeId)).toBe(true);

  // Forged: the body changed after signing.
  const forged = await call(nextId());
  intruder.send(node.nodeId, { ...forged, call: { ...forged.call, body: { input: { payload: 'tampered' } } } });
  expect((await intruder.responseTo(forged.call.request_id)).error).toMatchObject({ error: 'invalid_signature' });

  // Forged: a signature made by another key.
  const other = await Intruder.join(suite.bridge.url);
  const foreign = await other.signer().call({ capability: 'experimental.ping', version: '1.0', requestId: nextId(), community: 'hearthnet:open', body: ping });
  intruder.send(node.nodeId, { t: 'call', call: { ...foreign.call, from: intruder.keyPair.nodeId } });
  expect((await intruder.responseTo(foreign.call.request_id)).error).toMatchObject({ error: 'invalid_signature' });
  other.close();

  // Forged: one bit of the signature flipped.
  const flipped = await call(nextId());
  const bytes = decodeSignature(flipped.call.signature)!;
  bytes[5] ^= 0x10;
  intruder.send(node.nodeId, { t: 'call', call: { ...flipped.call, signature: encodeSignature(bytes) } });
  expect((await intruder.responseTo(flipped.call.request_id)).error).toMatchObject({ error: 'invalid_signature' });

  // Replayed: the genuine frame again, byte for byte.
  intruder.send(node.nodeId, genuine);
  await expect.poll(() => intruder.responsesTo(genuine.call.request_id)).toBe(2);
  const replies = intruder.received.filter((r) => r.frame.t === 'response' && r.frame.response.request_id === genuine.call.request_id);
  const second = replies[1].frame;
  expect(second.t === 'response' && second.response.error).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/replay/i) });

  // Stale: signed honestly, but five minutes ago.
  const past = intruder.signer({ now: () => Date.now() - 5 * 60_000 });
  const stale = await past.call({ capability: 'experimental.ping', version: '1.0', requestId: nextId(), community: 'hearthnet:open', body: ping });
  intruder.send(node.nodeId, stale);
  expect((await intruder.responseTo(stale.call.request_id)).error).toMatchObject({ error: 'expired' });

  // Garbage that is not a frame at all is dropped and counted, and the node carries on.
  intruder.send(node.nodeId, 'this is not JSON');
  const after = await call(nextId());
  intruder.send(node.nodeId, after);
  expect((await intruder.responseTo(after.call.request_id)).body).toMatchObject({ output: { payload: 'are you there?' } });
  const stats = await node.page.evaluate(() => (globalThis as unknown as { hearthnet: { api(): { stats(): Promise<Record<string, number>> } } }).hearthnet.api().stats());
  expect(stats.invalid_signature).toBeGreaterThanOrEqual(3);
  expect(stats.expired).toBeGreaterThanOrEqual(1);
  expect(stats.bad_request).toBeGreaterThanOrEqual(2);

  intruder.close();
  await node.context.close();
});

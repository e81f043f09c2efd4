import { describe, expect, it } from 'vitest';
import { FrameSigner, type PeerFrame } from '../../../src/lib/transport/index.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';
import { VirtualTime } from '../../sim/virtual-time.js';
import { callFrame, requestId } from './fixtures.js';
import { nodeUnderTest, RawPeer } from './raw-peer.js';
import { keyPairFromSeed } from '../../../src/lib/core/index.js';

useOrderedWebCrypto();

async function setup() {
  const time = new VirtualTime();
  const { node, keyPair } = await nodeUnderTest(time);
  let served = 0;
  node.register({ name: 'experimental.test_count', version: '1.0', handler: () => ++served });
  const peer = await RawPeer.connect(node, time);
  return { time, node, keyPair, peer, served: () => served };
}

function idOf(frame: PeerFrame): string {
  if (frame.t !== 'call') throw new Error('not a call');
  return frame.call.request_id;
}

function countCall(signer: FrameSigner, id = requestId()): Promise<PeerFrame> {
  return signer.call({ capability: 'experimental.test_count', version: '1.0', requestId: id, community: 'test:community', body: {} });
}

describe('call admission on a live link', () => {
  it('P1: the node sends its manifest as the first frame on a new link', async () => {
    const { time, node, peer } = await setup();
    await time.advance(10);
    expect(peer.received[0]).toMatchObject({ t: 'manifest', manifest: { node_id: node.identity().nodeId } });
    node.stop();
  });

  it('P1: refuses calls with unauthorized until the peer manifest verified on this link', async () => {
    const { time, node, peer, served } = await setup();
    const early = await countCall(peer.signer);
    await peer.send(early);
    await peer.introduce();
    const later = await countCall(peer.signer);
    await peer.send(later);
    await time.advance(100);
    expect(peer.responseTo(idOf(early))?.error).toMatchObject({ error: 'unauthorized' });
    expect(peer.responseTo(idOf(later))?.body).toBe(1);
    expect(served()).toBe(1);
    expect(node.stats().unauthorized).toBe(1);
    node.stop();
  });

  it('P2: a call signed by someone else on this link is refused with invalid_signature and never runs', async () => {
    const { time, node, peer, served } = await setup();
    await peer.introduce();
    const mallory = new FrameSigner(await keyPairFromSeed(new Uint8Array(32).fill(66)), time);
    const forged = await countCall(mallory);
    await peer.send(forged);
    await time.advance(100);
    expect(peer.responseTo(idOf(forged))?.error).toMatchObject({ error: 'invalid_signature' });
    expect(served()).toBe(0);
    expect(node.stats().invalid_signature).toBe(1);
    node.stop();
  });

  it('P3: a call stamped more than 60 s away is refused with expired and never runs', async () => {
    const { time, node, peer, served } = await setup();
    await peer.introduce();
    const stale = await countCall(peer.signer);
    await time.advance(61_000);
    await peer.introduce(); // the first manifest expired meanwhile; P1 is about the link, but keep the peer fresh
    await peer.send(stale);
    await time.advance(100);
    expect(peer.responseTo(idOf(stale))?.error).toMatchObject({ error: 'expired' });
    expect(served()).toBe(0);
    expect(node.stats().expired).toBe(1);
    node.stop();
  });

  it('P4: a replayed request_id is refused with bad_request and runs once', async () => {
    const { time, node, peer, served } = await setup();
    await peer.introduce();
    const call = await countCall(peer.signer);
    await peer.send(call);
    await time.advance(100);
    await peer.send(call);
    await time.advance(100);
    const answers = peer.framesOf('response').filter((f) => f.response.request_id === idOf(call));
    expect(answers.map((f) => f.response.body ?? f.response.error)).toEqual([1, { error: 'bad_request', message: 'replayed request_id' }]);
    expect(served()).toBe(1);
    expect(node.stats().bad_request).toBe(1);
    node.stop();
  });

  it('P4: a replay over a second link to the same node is caught too', async () => {
    const { time, node, peer, served } = await setup();
    await peer.introduce();
    const call = await countCall(peer.signer);
    await peer.send(call);
    await time.advance(100);
    // Same key, second link (say, the relay path after WebRTC).
    const second = await RawPeer.connect(node, time, 9, 'raw-second');
    await second.introduce();
    await second.send(call);
    await time.advance(100);
    expect(second.responseTo(idOf(call))?.error).toMatchObject({ message: 'replayed request_id' });
    expect(served()).toBe(1);
    node.stop();
  });

  it('counts garbage by code without answering it, and keeps serving', async () => {
    const { time, node, peer, served } = await setup();
    await peer.introduce();
    await peer.send('not json');
    await peer.send('x'.repeat(70_000));
    await peer.send(JSON.stringify({ t: 'call', call: { request_id: 'nope' } }));
    await peer.pair.b.send(new Uint8Array([1, 2]));
    const call = await callFrame(peer.signer, { input: {} });
    await peer.send(call);
    await time.advance(100);
    expect(node.stats()).toMatchObject({ bad_request: 4, not_implemented: 0 });
    expect(peer.framesOf('response').map((f) => f.response.request_id)).toEqual([idOf(call)]);
    expect(served()).toBe(0);
    node.stop();
  });
});

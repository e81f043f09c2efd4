import { describe, expect, it } from 'vitest';
import type { PeerFrame, StreamEvent } from '../../../src/lib/transport/index.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';
import { VirtualTime } from '../../sim/virtual-time.js';
import { callFrame } from './fixtures.js';
import { nodeUnderTest, RawPeer } from './raw-peer.js';

useOrderedWebCrypto();

/** A raw peer that asks the node for a streaming ping of `count` frames, and does not ack unless told to. */
async function streamingPing(count: number) {
  const time = new VirtualTime();
  const { node } = await nodeUnderTest(time);
  const peer = await RawPeer.connect(node, time);
  await peer.introduce();
  const call = (await callFrame(peer.signer, { input: { count } })) as Extract<PeerFrame, { t: 'call' }>;
  await peer.send(call);
  const id = call.call.request_id;
  const frames = () => peer.streamOf(id);
  const terminals = () => frames().filter((f) => f.event === 'done' || f.event === 'error');
  const ack = async (upto: number) => peer.send(await peer.signer.ack(id, upto));
  return { time, node, peer, id, frames, terminals, ack };
}

describe('stream flow control on the wire (P5)', () => {
  it('P5: the provider stops at 16 unacknowledged frames and resumes on ack', async () => {
    const { time, node, frames, ack } = await streamingPing(100);
    await time.advance(1_000);
    expect(frames().map((f) => f.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    await ack(8);
    await time.advance(1_000);
    expect(frames()).toHaveLength(24);
    await ack(24);
    await time.advance(1_000);
    expect(frames()).toHaveLength(40);
    node.stop();
  });

  it('P5: without an ack for 5 s the stream ends with exactly one timeout error', async () => {
    const { time, node, frames, terminals } = await streamingPing(100);
    await time.advance(5_000);
    expect(terminals()).toHaveLength(0);
    await time.advance(100);
    expect(terminals()).toHaveLength(1);
    expect(terminals()[0]).toMatchObject({ seq: 17, event: 'error', data: { error: 'timeout' } });
    await time.advance(30_000);
    expect(frames()).toHaveLength(17);
    node.stop();
  });

  it('P5: a completed stream has exactly one terminal, done, after every frame', async () => {
    const { time, node, frames, terminals, ack } = await streamingPing(20);
    await time.advance(100);
    await ack(8);
    await time.advance(100);
    await ack(16);
    await time.advance(30_000);
    expect(frames().map((f) => f.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(terminals()).toEqual([expect.objectContaining({ seq: 21, event: 'done', data: { count: 20 } })]);
    expect(frames()[0]).toMatchObject({ event: 'progress', data: { current: 1, total: 20, stage: 'pong' } });
    node.stop();
  });

  it('P5: a cancel stops the provider: no more frames and no terminal', async () => {
    const { time, node, peer, id, frames, terminals } = await streamingPing(100);
    await time.advance(100);
    await peer.send(await peer.signer.cancel(id));
    await time.advance(10_000);
    expect(frames()).toHaveLength(16);
    expect(terminals()).toHaveLength(0);
    node.stop();
  });

  it('P5: the caller acks every 8 frames, reorders frames by seq and ignores duplicates', async () => {
    const time = new VirtualTime();
    const { node } = await nodeUnderTest(time);
    const peer = await RawPeer.connect(node, time);
    await peer.introduce();
    await time.advance(50);

    const events: StreamEvent[] = [];
    const consumer = (async () => {
      for await (const event of node.stream(peer.nodeId, 'experimental.test_feed', '1.0', {})) events.push(event);
    })();
    await time.advance(50);
    const [call] = peer.framesOf('call');
    const id = call.call.request_id;
    const frame = (seq: number, event = 'chunk', data: unknown = { seq }) => peer.signer.stream(id, seq, event, data);

    // A scrambled first window with repeats, as a flaky relay path might deliver it.
    for (const seq of [3, 1, 2, 2, 8, 5, 4, 7, 6, 1, 16, 9, 15, 10, 11, 14, 12, 13, 9]) await peer.send(await frame(seq));
    await time.advance(100);
    expect(peer.framesOf('ack').map((f) => f.ack.upto)).toEqual([8, 16]);
    for (const seq of [20, 18, 17, 19]) await peer.send(await frame(seq));
    await peer.send(await frame(21, 'done', { ok: true }));
    await peer.send(await frame(21, 'done', { ok: 'again' }));
    await time.resolve(consumer);

    expect(events.map((e) => e.event === 'done' ? 'done' : (e.data as { seq: number }).seq)).toEqual([...Array.from({ length: 20 }, (_, i) => i + 1), 'done']);
    expect(events.at(-1)).toEqual({ event: 'done', data: { ok: true } });
    expect(peer.framesOf('cancel')).toHaveLength(0);
    node.stop();
  });

  it('P5: done waits for a missing frame; an error ends the stream at once', async () => {
    const time = new VirtualTime();
    const { node } = await nodeUnderTest(time);
    const peer = await RawPeer.connect(node, time);
    await peer.introduce();
    await time.advance(50);
    let outcome: unknown = 'running';
    const seen: StreamEvent[] = [];
    void (async () => {
      for await (const event of node.stream(peer.nodeId, 'experimental.test_feed', '1.0', {})) seen.push(event);
    })().then(
      () => (outcome = 'done'),
      (err: unknown) => (outcome = err)
    );
    await time.advance(50);
    const id = peer.framesOf('call')[0].call.request_id;
    await peer.send(await peer.signer.stream(id, 1, 'chunk', 1));
    await peer.send(await peer.signer.stream(id, 3, 'done', {}));
    await time.advance(100);
    expect(outcome).toBe('running');
    await peer.send(await peer.signer.stream(id, 4, 'error', { error: 'internal_error', message: 'gave up' }));
    await time.advance(100);
    expect(outcome).toMatchObject({ code: 'internal_error', message: 'gave up' });
    expect(seen).toEqual([{ event: 'chunk', data: 1 }]);
    node.stop();
  });
});

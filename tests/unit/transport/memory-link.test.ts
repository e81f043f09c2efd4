import { describe, expect, it } from 'vitest';
import { createMemoryLinkPair, mulberry32, type LinkFrame } from '../../../src/lib/transport/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

const A = 'ed25519:' + 'A'.repeat(43);
const B = 'ed25519:' + 'B'.repeat(43);

function collect(link: { onFrame(listener: (frame: LinkFrame) => void): void }): LinkFrame[] {
  const frames: LinkFrame[] = [];
  link.onFrame((frame) => frames.push(frame));
  return frames;
}

async function sendNumbered(time: VirtualTime, options: Parameters<typeof createMemoryLinkPair>[2], count = 50) {
  const pair = createMemoryLinkPair(A, B, { scheduler: time, clock: time, ...options });
  const received = collect(pair.b);
  for (let i = 0; i < count; i++) await pair.a.send(String(i));
  await time.advance(10_000);
  return received.map(Number);
}

describe('in-memory links', () => {
  it('binds each end to the other node', () => {
    const pair = createMemoryLinkPair(A, B, { id: 'x' });
    expect([pair.a.remoteNodeId, pair.b.remoteNodeId]).toEqual([B, A]);
    expect([pair.a.id, pair.b.id, pair.a.path]).toEqual(['x:a', 'x:b', 'memory']);
  });

  it('without a scheduler delivers on a microtask, never inside send()', async () => {
    const pair = createMemoryLinkPair(A, B);
    const received = collect(pair.a);
    const sent = pair.b.send('hello');
    expect(received).toEqual([]);
    await sent;
    await Promise.resolve();
    expect(received).toEqual(['hello']);
  });

  it('keeps order under jitter unless reordering is asked for', async () => {
    const fifo = await sendNumbered(new VirtualTime(), { delayMs: 5, jitterMs: 50, rng: mulberry32(7) });
    expect(fifo).toEqual([...fifo].sort((x, y) => x - y));
    const shuffled = await sendNumbered(new VirtualTime(), { delayMs: 5, jitterMs: 50, reorder: true, rng: mulberry32(7) });
    expect(shuffled).not.toEqual([...shuffled].sort((x, y) => x - y));
    expect([...shuffled].sort((x, y) => x - y)).toEqual(fifo);
  });

  it('repeats exactly under the same seed, and differs under another', async () => {
    const options = { delayMs: 5, jitterMs: 50, reorder: true, dropRate: 0.2 };
    const first = await sendNumbered(new VirtualTime(), { ...options, rng: mulberry32(42) });
    const second = await sendNumbered(new VirtualTime(), { ...options, rng: mulberry32(42) });
    const other = await sendNumbered(new VirtualTime(), { ...options, rng: mulberry32(43) });
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first.length).toBeGreaterThan(30);
    expect(first.length).toBeLessThan(50);
  });

  it('copies binary frames, as a transfer would', async () => {
    const pair = createMemoryLinkPair(A, B);
    const received = collect(pair.b);
    const bytes = new Uint8Array([1, 2, 3]);
    await pair.a.send(bytes);
    bytes[0] = 9;
    await Promise.resolve();
    expect(received).toEqual([new Uint8Array([1, 2, 3])]);
  });

  it('loses everything while partitioned, frames in flight included, and recovers on heal', async () => {
    const time = new VirtualTime();
    const pair = createMemoryLinkPair(A, B, { scheduler: time, clock: time, delayMs: 100 });
    const received = collect(pair.b);
    await pair.a.send('in flight');
    await time.advance(50);
    pair.setPartitioned(true);
    await pair.a.send('during');
    await time.advance(200);
    pair.setPartitioned(false);
    await pair.a.send('after');
    await time.advance(200);
    expect(received).toEqual(['after']);
    expect(pair.a.closed).toBe(false);
  });

  it('closes both ends at once and refuses to send afterwards', async () => {
    const pair = createMemoryLinkPair(A, B);
    const closed: string[] = [];
    pair.a.onClose(() => closed.push('a'));
    pair.b.onClose(() => closed.push('b'));
    pair.b.close();
    pair.b.close();
    expect(closed).toEqual(['a', 'b']);
    await expect(pair.a.send('late')).rejects.toThrow(/closed/);
  });

  it('refuses random conditions without an rng and delays without a scheduler', () => {
    expect(() => createMemoryLinkPair(A, B, { dropRate: 0.1 })).toThrow(/rng/);
    expect(() => createMemoryLinkPair(A, B, { delayMs: 5 })).toThrow(/scheduler/);
  });
});

import { describe, expect, it } from 'vitest';
import { HearthError, STREAM_WINDOW_FRAMES } from '../../../src/lib/core/index.js';
import { ReorderBuffer, SendWindow } from '../../../src/lib/transport/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

/** Reserves seqs until one blocks; returns the seqs granted and the promise that is still waiting. */
async function fill(window: SendWindow, time: VirtualTime, signal?: AbortSignal) {
  const granted: number[] = [];
  for (;;) {
    let done = false;
    const next = window.reserve(signal).then((seq) => {
      done = true;
      return seq;
    });
    next.catch(() => {});
    await time.settle();
    if (!done) return { granted, waiting: next };
    granted.push(await next);
  }
}

describe('send window (P5)', () => {
  it('P5: blocks the provider at 16 unacknowledged frames', async () => {
    const time = new VirtualTime();
    const window = new SendWindow({ scheduler: time });
    const { granted } = await fill(window, time);
    expect(granted).toEqual(Array.from({ length: STREAM_WINDOW_FRAMES }, (_, i) => i + 1));
    expect(window.inFlight).toBe(16);
  });

  it('P5: resumes on a cumulative ack and grants exactly the room it made', async () => {
    const time = new VirtualTime();
    const window = new SendWindow({ scheduler: time });
    const { waiting } = await fill(window, time);
    window.ack(8);
    expect(await waiting).toBe(17);
    const { granted } = await fill(window, time);
    expect(granted).toEqual([18, 19, 20, 21, 22, 23, 24]);
    expect(window.inFlight).toBe(16);
  });

  it('P5: ignores stale, duplicate and impossible acks', async () => {
    const time = new VirtualTime();
    const window = new SendWindow({ scheduler: time });
    const { waiting } = await fill(window, time);
    window.ack(8);
    window.ack(8);
    window.ack(4);
    window.ack(999); // beyond what was sent: a confused or hostile caller
    window.ack(2.5);
    expect(await waiting).toBe(17);
    expect(window.inFlight).toBe(8 + 1);
  });

  it('P5: gives up with timeout when no ack comes within 5 s', async () => {
    const time = new VirtualTime();
    const window = new SendWindow({ scheduler: time });
    const { waiting } = await fill(window, time);
    let error: unknown;
    waiting.catch((err) => (error = err));
    await time.advance(4_999);
    expect(error).toBeUndefined();
    await time.advance(1);
    expect(error).toBeInstanceOf(HearthError);
    expect((error as HearthError).code).toBe('timeout');
    expect(time.pendingTimers).toBe(0);
  });

  it('P5: an abort while blocked rejects with the reason and clears the timer', async () => {
    const time = new VirtualTime();
    const window = new SendWindow({ scheduler: time });
    const controller = new AbortController();
    const { waiting } = await fill(window, time, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(time.pendingTimers).toBe(0);
  });

  it('P5: the ack timer only runs while blocked', async () => {
    const time = new VirtualTime();
    const window = new SendWindow({ scheduler: time });
    for (let i = 0; i < 10; i++) await window.reserve();
    expect(time.pendingTimers).toBe(0);
  });
});

describe('reorder buffer (P5, caller side)', () => {
  it('P5: delivers out-of-order frames in seq order, each exactly once', () => {
    const buffer = new ReorderBuffer<string>();
    expect(buffer.push(2, 'b')).toEqual([]);
    expect(buffer.push(3, 'c')).toEqual([]);
    expect(buffer.push(3, 'c again')).toEqual([]);
    expect(buffer.push(1, 'a')).toEqual(['a', 'b', 'c']);
    expect(buffer.push(2, 'b again')).toEqual([]);
    expect(buffer.push(4, 'd')).toEqual(['d']);
    expect(buffer.expected).toBe(5);
  });

  it('P5: ignores seqs beyond the window so a peer cannot make it buffer without bound', () => {
    const buffer = new ReorderBuffer<number>();
    expect(buffer.push(18, 18)).toEqual([]);
    expect(buffer.held).toBe(0);
    expect(buffer.push(17, 17)).toEqual([]);
    expect(buffer.held).toBe(1);
    expect(buffer.push(0, 0)).toEqual([]);
    expect(buffer.push(1.5, 1)).toEqual([]);
  });
});

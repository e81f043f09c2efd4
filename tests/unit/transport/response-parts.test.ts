/**
 * A unary answer larger than one frame (P13, response-parts.ts) crosses the link as signed `response_part` frames
 * and is joined by the caller: a rag.query with twenty long passages, a remote embed.text of a batch. A peer that
 * lies about the parts gets its call failed with bad_request; an answer past 16 MiB is refused at the source.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HearthError, MAX_FRAME_BYTES } from '../../../src/lib/core/index.js';
import { INLINE_RESPONSE_MAX_BYTES, MAX_SPLIT_RESPONSE_BYTES, RESPONSE_PART_EVENT, ResponseAssembler, responseParts, type LinkFrame } from '../../../src/lib/transport/index.js';
import { SimNetwork } from '../../sim/network.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';

useOrderedWebCrypto();

let net: SimNetwork | undefined;
afterEach(() => {
  net?.stop();
  net = undefined;
});

async function twoNodes(): Promise<SimNetwork> {
  net = await SimNetwork.create({ size: 2, seed: 31, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000 });
  net.connectAll();
  await net.run(50);
  return net;
}

describe('answers larger than one frame', () => {
  it('a 300 KB answer with umlauts and quotes arrives whole, in frames of at most 64 KiB', async () => {
    const net = await twoNodes();
    const passage = 'Wasser „sprudelnd“ abkochen — "eine Minute" ✓ ';
    const answer = { output: { chunks: Array.from({ length: 20 }, (_, i) => ({ rank: i + 1, text: passage.repeat(300) })) }, meta: { ms: 3 } };
    net.nodes[1].register({ name: 'experimental.test_big', version: '1.0', handler: async () => answer });
    const wire: LinkFrame[] = [];
    net.pair(1, 0).a.onFrame((frame) => wire.push(frame));
    const result = await net.time.resolve(net.nodes[0].call(net.nodeId(1), 'experimental.test_big', '1.0', {}));
    expect(result).toEqual(answer);
    expect(JSON.stringify(answer).length).toBeGreaterThan(4 * MAX_FRAME_BYTES);
    expect(wire.length).toBeGreaterThan(4);
    for (const frame of wire) expect(typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });

  it('a small answer still goes as one response frame', async () => {
    const net = await twoNodes();
    net.nodes[1].register({ name: 'experimental.test_small', version: '1.0', handler: async () => ({ output: { ok: 'x'.repeat(INLINE_RESPONSE_MAX_BYTES - 100) } }) });
    const wire: LinkFrame[] = [];
    net.pair(1, 0).a.onFrame((frame) => wire.push(frame));
    await net.time.resolve(net.nodes[0].call(net.nodeId(1), 'experimental.test_small', '1.0', {}));
    expect(wire.filter((f) => typeof f === 'string' && f.includes('"t":"response"'))).toHaveLength(1);
    expect(wire.some((f) => typeof f === 'string' && f.includes(RESPONSE_PART_EVENT))).toBe(false);
  });

  it('an answer past 16 MiB is refused by the provider with a message, not sent', async () => {
    const net = await twoNodes();
    net.nodes[1].register({ name: 'experimental.test_huge', version: '1.0', handler: async () => ({ output: { text: 'y'.repeat(MAX_SPLIT_RESPONSE_BYTES + 1) } }) });
    const error = await net.time.resolve(net.nodes[0].call(net.nodeId(1), 'experimental.test_huge', '1.0', {})).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HearthError);
    expect(error).toMatchObject({ code: 'internal_error', message: expect.stringContaining('16777216') });
  });
});

describe('ResponseAssembler (the caller side of P13)', () => {
  async function partsOf(json: string) {
    const events = [];
    const generator = responseParts(json);
    for (;;) {
      const step = await generator.next();
      if (step.done) return { events, done: step.value };
      events.push(step.value);
    }
  }

  it('joins what responseParts split, and leaves a plain stream\'s done alone', async () => {
    const json = JSON.stringify({ text: 'ä'.repeat(100_000) });
    const { events, done } = await partsOf(json);
    const assembler = new ResponseAssembler();
    for (const event of events) assembler.add(event.data);
    expect(assembler.finish(done)).toEqual(JSON.parse(json));
    expect(new ResponseAssembler().finish({ chunks: 3 })).toEqual({ chunks: 3 });
  });

  it('refuses a lying peer: a missing part, a part that is not base64, and more than 16 MiB', async () => {
    const { events, done } = await partsOf(JSON.stringify({ text: 'z'.repeat(200_000) }));
    const missing = new ResponseAssembler();
    for (const event of events.slice(1)) missing.add(event.data);
    expect(() => missing.finish(done)).toThrow(/announced \d+ parts but \d+ arrived/);
    expect(() => new ResponseAssembler().add({ b64: '%%%' })).toThrow(HearthError);
    expect(() => new ResponseAssembler().add({ text: 'no' })).toThrow(/no base64/);
    const flood = new ResponseAssembler();
    const big = { b64: Buffer.alloc(1024 * 1024).toString('base64') };
    expect(() => {
      for (let i = 0; i < 17; i++) flood.add(big);
    }).toThrow(/16777216/);
    const garbled = new ResponseAssembler();
    garbled.add({ b64: Buffer.from('{"half":').toString('base64') });
    expect(() => garbled.finish({ response_parts: 1 })).toThrow(/not valid UTF-8 JSON/);
  });
});

describe('answers in parts to a streaming caller', () => {
  it('a caller that streams a unary capability gets the joined answer as done, never the parts', async () => {
    const net = await twoNodes();
    const answer = { output: { text: 'Regenwasser filtern und abkochen. '.repeat(5000) } };
    net.nodes[1].register({ name: 'experimental.test_big_streamed', version: '1.0', handler: async () => answer });
    const { events, error } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_big_streamed', '1.0', {}));
    expect(error).toBeNull();
    expect(events).toEqual([{ event: 'done', data: answer }]);
  });
});

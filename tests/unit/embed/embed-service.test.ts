/**
 * embed.text@1.0 on a real bus (M11, contract §4.3): the offer (models, dimensions), the response naming its model,
 * the contract's limits as bad_request, batching to the embedder's size, unknown models, and embedLocal.
 */
import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/index.js';
import { EmbedService, type EmbedTextResponse } from '../../../src/lib/embed/embed-service.js';
import { normaliseInPlace, type Embedder } from '../../../src/lib/embed/embedder.js';
import { HASHED_NGRAMS_MODEL, hashedNgramVector } from '../../../src/lib/embed/hashed-ngrams.js';
import { MAX_TEXTS, MAX_TEXT_CHARS } from '../../../src/lib/embed/requests.js';
import { SELF, makeBus } from '../bus/harness.js';

/** Vectors from each text's length; records the batches it was given. Loads (or fails to) when asked. */
class CountingEmbedder implements Embedder {
  readonly batches: number[] = [];
  readonly id: string;
  loaded = false;
  constructor(
    readonly model: string,
    readonly maxBatch = 4,
    readonly dimensions = 3,
    private readonly loadFails = false
  ) {
    this.id = `counting:${model}`;
  }
  async load(): Promise<void> {
    if (this.loadFails) throw new HearthError('partition', 'the mirror is down');
    this.loaded = true;
  }
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.batches.push(texts.length);
    return texts.map((t) => normaliseInPlace(Float32Array.from([t.length, 1, 0])));
  }
}

async function setUp(embedders: Embedder[] = []) {
  const t = makeBus();
  const logs: string[] = [];
  const service = new EmbedService({ embedders, register: (r) => t.bus.register(r), clock: t.time, selfId: SELF, log: (level, message) => logs.push(`${level}: ${message}`) });
  await service.start();
  return { ...t, service, logs };
}

const embed = (texts: unknown, params: Record<string, unknown> = {}) => ({ params, input: { texts } });

describe('embed.text (contract §4.3)', () => {
  it('always offers the hashed model, as the default, with every model and its dimensions in params', async () => {
    const { bus, service } = await setUp([new CountingEmbedder('hearth/tiny-minilm')]);
    expect(service.models).toEqual([HASHED_NGRAMS_MODEL, 'hearth/tiny-minilm']);
    const entry = bus.capabilities().find((c) => c.name === 'embed.text');
    expect(entry).toMatchObject({
      version: '1.0',
      stability: 'stable',
      idempotent: true,
      maxConcurrent: 8,
      params: { model: HASHED_NGRAMS_MODEL, models: [HASHED_NGRAMS_MODEL, 'hearth/tiny-minilm'], dimensions: { [HASHED_NGRAMS_MODEL]: 1024, 'hearth/tiny-minilm': 3 } }
    });
  });

  it('answers with the vectors, their dimension and the model that made them (the default when none is named)', async () => {
    const { bus } = await setUp();
    const response = (await bus.call('embed.text', '1.0', embed(['Wasser abkochen', 'Stromausfall']))) as EmbedTextResponse;
    expect(response.meta).toMatchObject({ model: HASHED_NGRAMS_MODEL, served_by: SELF });
    expect(typeof response.meta.ms).toBe('number');
    expect(response.output.dim).toBe(1024);
    expect(response.output.embeddings).toHaveLength(2);
    expect(response.output.embeddings[0]).toEqual(Array.from(hashedNgramVector('Wasser abkochen')));
    expect(bus.recentTraces(1)[0]).toMatchObject({ capability: 'embed.text', result: 'ok' });
  });

  it('sends a named model to its embedder, in batches of its size, in order', async () => {
    const counting = new CountingEmbedder('hearth/tiny-minilm', 4);
    const { bus } = await setUp([counting]);
    const texts = Array.from({ length: 10 }, (_, i) => 'x'.repeat(i + 1));
    const response = (await bus.call('embed.text', '1.0', embed(texts, { model: 'hearth/tiny-minilm' }))) as EmbedTextResponse;
    expect(counting.batches).toEqual([4, 4, 2]);
    expect(response.meta.model).toBe('hearth/tiny-minilm');
    expect(response.output.embeddings.map((v) => Math.round(v[0] / v[1]))).toEqual(texts.map((t) => t.length));
  });

  it('accepts the contract maximum of 256 texts of 8192 characters', async () => {
    const { bus } = await setUp();
    const texts = Array.from({ length: MAX_TEXTS }, (_, i) => `Text ${i} `.padEnd(MAX_TEXT_CHARS, 'ab'));
    const response = (await bus.call('embed.text', '1.0', embed(texts))) as EmbedTextResponse;
    expect(response.output.embeddings).toHaveLength(256);
  });

  it('refuses what the contract refuses with bad_request naming the problem; wrong types are schema_mismatch', async () => {
    const { bus } = await setUp();
    const refusal = (body: unknown) => bus.call('embed.text', '1.0', body).then(() => null, (err: { code: string; message: string }) => `${err.code}: ${err.message}`);
    expect(await refusal(embed([]))).toMatch(/^bad_request: texts must not be empty/);
    expect(await refusal(embed(Array(MAX_TEXTS + 1).fill('a')))).toMatch(/^bad_request: 257 texts; at most 256/);
    expect(await refusal(embed(['ok', 'x'.repeat(MAX_TEXT_CHARS + 1)]))).toMatch(/^bad_request: texts\[1\] holds 8193 characters; at most 8192/);
    expect(await refusal({ params: {}, input: { texts: [1, 2] } })).toMatch(/^schema_mismatch/);
    expect(await refusal({ params: {}, input: {} })).toMatch(/^schema_mismatch/);
  });

  it('a call for a model no node has is not routed (not_found); asked directly, a node answers not_implemented', async () => {
    const { bus } = await setUp();
    expect(await bus.call('embed.text', '1.0', embed(['a'], { model: 'BAAI/bge-small-en-v1.5' })).catch((e: { code: string }) => e.code)).toBe('not_found');
    const direct = bus.handle(
      { capability: 'embed.text', version: '1.0', body: embed(['a'], { model: 'BAAI/bge-small-en-v1.5' }) },
      { caller: SELF, requestId: 'r1', signal: new AbortController().signal }
    );
    await expect(Promise.resolve(direct)).rejects.toMatchObject({ code: 'not_implemented', extra: { alt_capabilities: [`embed.text@1.0 model=${HASHED_NGRAMS_MODEL}`] } });
  });

  it('offers an embedder only once it has loaded, and leaves out (and logs) one that fails to load', async () => {
    const fine = new CountingEmbedder('hearth/fine');
    const broken = new CountingEmbedder('hearth/broken', 4, 3, true);
    const { service, logs } = await setUp([broken, fine]);
    expect(fine.loaded).toBe(true);
    expect(service.models).toEqual([HASHED_NGRAMS_MODEL, 'hearth/fine']);
    expect(logs).toContain('warn: an embedder could not be loaded');
  });

  it('embedLocal embeds in the node without the bus or its limits, naming the model', async () => {
    const counting = new CountingEmbedder('hearth/tiny-minilm', 4);
    const { service } = await setUp([counting]);
    const local = await service.embedLocal(['Wasser abkochen']);
    expect(local.model).toBe(HASHED_NGRAMS_MODEL);
    expect(local.vectors[0]).toEqual(hashedNgramVector('Wasser abkochen'));
    const many = await service.embedLocal(Array(300).fill('a'), 'hearth/tiny-minilm');
    expect([many.model, many.dimensions, many.vectors.length]).toEqual(['hearth/tiny-minilm', 3, 300]);
    await expect(service.embedLocal(['a'], 'nope')).rejects.toMatchObject({ code: 'not_implemented' });
  });

  it('adds and removes embedders while running: the offer follows, and the preferred model is the first sentence model', async () => {
    const { bus, service } = await setUp();
    const offered = () => bus.capabilities().find((c) => c.name === 'embed.text')?.params;
    const changes: string[][] = [];
    service.subscribe(() => changes.push(service.models));
    expect(service.preferredModel).toBe(HASHED_NGRAMS_MODEL);

    const first = new CountingEmbedder('hearth/first', 4, 3);
    expect(await service.add(first)).toBe(true);
    expect(first.loaded).toBe(true);
    expect(await service.add(new CountingEmbedder('hearth/second', 2))).toBe(true);
    expect(await service.add(new CountingEmbedder('hearth/first'))).toBe(false); // a model already here keeps its embedder
    expect(offered()).toEqual({ model: HASHED_NGRAMS_MODEL, models: [HASHED_NGRAMS_MODEL, 'hearth/first', 'hearth/second'], dimensions: { [HASHED_NGRAMS_MODEL]: 1024, 'hearth/first': 3, 'hearth/second': 3 } });
    // The default stays the hashed model (comparable on every node); new collections prefer the sentence model.
    expect([service.defaultModel, service.preferredModel]).toEqual([HASHED_NGRAMS_MODEL, 'hearth/first']);
    const response = (await bus.call('embed.text', '1.0', embed(['abc'], { model: 'hearth/second' }))) as EmbedTextResponse;
    expect([response.meta.model, response.output.dim]).toEqual(['hearth/second', 3]);

    expect(service.remove('hearth/first')).toBe(true);
    expect(service.remove('hearth/first')).toBe(false);
    expect(service.preferredModel).toBe('hearth/second');
    expect(offered()).toMatchObject({ models: [HASHED_NGRAMS_MODEL, 'hearth/second'] });
    await expect(service.embedLocal(['a'], 'hearth/first')).rejects.toMatchObject({ code: 'not_implemented' });
    expect(() => service.remove(HASHED_NGRAMS_MODEL)).toThrow(/cannot be removed/);
    expect(changes).toEqual([
      [HASHED_NGRAMS_MODEL, 'hearth/first'],
      [HASHED_NGRAMS_MODEL, 'hearth/first', 'hearth/second'],
      [HASHED_NGRAMS_MODEL, 'hearth/second']
    ]);
  });

  it('an embedder that fails to load is not added; one added before start is offered at start, not before', async () => {
    const t = makeBus();
    const service = new EmbedService({ register: (r) => t.bus.register(r), clock: t.time, selfId: SELF });
    await expect(service.add(new CountingEmbedder('hearth/broken', 4, 3, true))).rejects.toMatchObject({ code: 'partition' });
    expect(await service.add(new CountingEmbedder('hearth/early'))).toBe(true);
    expect(t.bus.capabilities().some((c) => c.name === 'embed.text')).toBe(false);
    await service.start();
    expect(t.bus.capabilities().find((c) => c.name === 'embed.text')?.params).toMatchObject({ models: [HASHED_NGRAMS_MODEL, 'hearth/early'] });
    service.stop();
    await service.add(new CountingEmbedder('hearth/late'));
    expect(t.bus.capabilities().some((c) => c.name === 'embed.text')).toBe(false); // stopped stays stopped
  });

  it('withdraws embed.text on stop', async () => {
    const { bus, service } = await setUp();
    service.stop();
    expect(bus.capabilities().some((c) => c.name === 'embed.text')).toBe(false);
  });
});

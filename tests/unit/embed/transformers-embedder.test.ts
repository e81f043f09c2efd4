/**
 * The transformers.js embedder run for real: transformers.js + onnxruntime-node on a tiny generated BERT-layout
 * model (tests/support/tiny-embedding-model.ts) whose embedding is a lookup table, so mean pooling has a known answer
 * — loaded from a directory and from a model mirror over HTTP, batched with padding, and offered as embed.text.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbedService, type EmbedTextResponse } from '../../../src/lib/embed/embed-service.js';
import { TransformersEmbedder } from '../../../src/lib/embed/transformers-embedder.js';
import { TINY_EMBED_DIMENSIONS, tinyEmbeddingOf, writeTinyEmbeddingModel } from '../../support/tiny-embedding-model.js';
import { SELF, makeBus } from '../bus/harness.js';

const MODEL = 'hearth/tiny-minilm';
const signal = () => new AbortController().signal;
let root: string;
let modelDir: string;
let server: Server;
let baseUrl: string;
const served: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hearth-embed-'));
  modelDir = join(root, 'models', MODEL);
  writeTinyEmbeddingModel(modelDir);
  // A model mirror in the Hugging Face layout, like the bridge's: /<org>/<repo>/resolve/main/<file>.
  server = createServer((req, res) => {
    served.push(req.url ?? '');
    const match = /^\/([\w.-]+\/[\w.-]+)\/resolve\/main\/(.+)$/.exec(req.url ?? '');
    if (!match || match[1] !== MODEL) return res.writeHead(404).end();
    readFile(join(modelDir, match[2])).then(
      (body) => res.writeHead(200, { 'content-length': body.length }).end(body),
      () => res.writeHead(404).end()
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

const close = (actual: Float32Array, expected: number[]) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
};

describe('TransformersEmbedder on a tiny genuine model', () => {
  it('loads from a directory and mean-pools + normalises: the known answer', async () => {
    const embedder = new TransformersEmbedder({ model: MODEL, source: { localPath: modelDir }, dtype: 'fp32' });
    expect(embedder.dimensions).toBe(0);
    await embedder.load();
    expect([embedder.model, embedder.dimensions, embedder.id]).toEqual([MODEL, TINY_EMBED_DIMENSIONS, `transformers:${MODEL}`]);
    const [boil, flood, unknown] = await embedder.embed(['Boil water', 'Sandbags, river FLOOD', 'zzz'], signal());
    close(boil, tinyEmbeddingOf(['boil', 'water']));
    // WordPiece splits "Sandbags" into three pieces; the comma is its own token, unknown to this vocabulary.
    close(flood, tinyEmbeddingOf(['sand', '##bag', '##s', '[UNK]', 'river', 'flood']));
    close(unknown, tinyEmbeddingOf(['[UNK]']));
    await embedder.dispose();
  });

  it('gives a text the same vector alone and padded in a batch (pooling honours the attention mask), over many batches', async () => {
    const embedder = new TransformersEmbedder({ model: MODEL, source: { localPath: modelDir }, dtype: 'fp32', maxBatch: 3 });
    await embedder.load();
    const texts = ['power', 'power outage candle candle candle water', 'drink', 'flood river river', 'boil', 'minute water boil drink', 'sand'];
    const together = await embedder.embed(texts, signal());
    for (const [i, text] of texts.entries()) close(together[i], Array.from((await embedder.embed([text], signal()))[0]));
    close(together[0], tinyEmbeddingOf(['power']));
    await embedder.dispose();
  });

  it('loads from a model mirror over HTTP (the bridge layout), with the q8 file by default', async () => {
    const embedder = new TransformersEmbedder({ model: MODEL, source: { baseUrl }, cacheDir: join(root, 'cache') });
    await embedder.load();
    expect(served).toContain(`/${MODEL}/resolve/main/onnx/model_quantized.onnx`);
    close((await embedder.embed(['boil water'], signal()))[0], tinyEmbeddingOf(['boil', 'water']));
    await embedder.dispose();
  });

  it('refuses bad sources before loading, and names a missing model', async () => {
    expect(() => new TransformersEmbedder({ model: MODEL, source: { baseUrl: 'ftp://x' } })).toThrow(/absolute http\(s\) URL/);
    expect(() => new TransformersEmbedder({ model: 'not a repo', source: { baseUrl } })).toThrow(/not a repository id/);
    await expect(new TransformersEmbedder({ model: MODEL, source: { baseUrl } }).load()).rejects.toThrow(/needs cacheDir/);
    await expect(new TransformersEmbedder({ model: 'hearth/missing', source: { baseUrl }, cacheDir: join(root, 'cache2') }).load()).rejects.toThrow(/hearth\/missing/);
    await expect(new TransformersEmbedder({ model: MODEL, source: { localPath: modelDir } }).embed(['a'], signal())).rejects.toMatchObject({ code: 'not_implemented' });
  });

  it('is offered as embed.text next to the hashed model, and answers calls that name it', async () => {
    const t = makeBus();
    const embedder = new TransformersEmbedder({ model: MODEL, source: { localPath: modelDir }, dtype: 'fp32' });
    const service = new EmbedService({ embedders: [embedder], register: (r) => t.bus.register(r), clock: t.time, selfId: SELF });
    expect(await service.start()).toEqual(['hearth-hashed-ngrams-v1', MODEL]);
    const response = (await t.bus.call('embed.text', '1.0', { params: { model: MODEL }, input: { texts: ['boil water', 'power outage'] } })) as EmbedTextResponse;
    expect(response.meta.model).toBe(MODEL);
    expect(response.output.dim).toBe(TINY_EMBED_DIMENSIONS);
    close(Float32Array.from(response.output.embeddings[1]), tinyEmbeddingOf(['power', 'outage']));
    service.stop();
    await embedder.dispose();
  });
});

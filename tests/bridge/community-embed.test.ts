/**
 * The bridge runs a sentence-embedding model from its own model mirror (relay/mirror-embedders.ts): started with
 * `--models-dir` holding the tiny genuine BERT-layout model (and a language model, which is not one), its community
 * node offers embed.text with that model next to the hashed one and answers with the model's vectors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeHandle } from '../../relay/bridge.js';
import { createLogger } from '../../relay/logger.js';
import { MirrorEmbedders } from '../../relay/mirror-embedders.js';
import { ModelMirror } from '../../relay/model-mirror.js';
import type { EmbedTextResponse } from '../../src/lib/embed/embed-service.js';
import { HASHED_NGRAMS_MODEL } from '../../src/lib/embed/hashed-ngrams.js';
import { writeTinyCausalLm } from '../support/tiny-causal-lm.js';
import { TINY_EMBED_DIMENSIONS, tinyEmbeddingOf, writeTinyEmbeddingModel } from '../support/tiny-embedding-model.js';
import { foundCommunity, makeInvite, postJson, type Holder } from './community-fixtures.js';
import { makeTempDir, testConfig, waitFor } from './helpers.js';
import { SocketNode } from './socket-node.js';

const MODEL = 'hearth/tiny-minilm';

describe('the bridge offers a sentence-embedding model from its mirror', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let models: string;
  let bridge: BridgeHandle;
  let founder: Holder;
  let socket: SocketNode;

  beforeAll(async () => {
    models = mkdtempSync(join(tmpdir(), 'hearthnet-models-'));
    writeTinyEmbeddingModel(join(models, MODEL));
    writeTinyCausalLm(join(models, 'hearth/tiny-llama'), { dtypes: ['q4'] });
    temp = await makeTempDir();
    bridge = await startBridge(testConfig(temp.path, ['--models-dir', models]));
    founder = await foundCommunity('Lindenhof');
  });
  afterAll(async () => {
    await socket?.close().catch(() => {});
    await bridge?.close();
    await temp?.remove();
    rmSync(models, { recursive: true, force: true });
  });

  it('a member sees embed.text with the model and its dimension, and gets its vectors', async () => {
    socket = await SocketNode.connect({ url: `${bridge.httpUrl.replace('http', 'ws')}/signal`, keyPair: founder.keyPair, community: founder.community, displayName: 'founder' });
    const invite = await makeInvite(founder, { invitee: bridge.nodeId });
    expect((await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: invite.blob })).status).toBe(200);
    await waitFor(() => founder.community.view.member(bridge.nodeId), "the bridge's joined event at the founder", 10_000);
    const offered = await waitFor(
      () => socket.node.bus.capabilities().find((c) => c.name === 'embed.text' && c.nodeId === bridge.nodeId && (c.params as { models?: string[] }).models?.includes(MODEL)),
      'the bridge offering the mirrored embedding model',
      15_000
    );
    // The hashed model stays the default; the language model on the mirror is not an embedding model.
    expect(offered.params).toEqual({ model: HASHED_NGRAMS_MODEL, models: [HASHED_NGRAMS_MODEL, MODEL], dimensions: { [HASHED_NGRAMS_MODEL]: 1024, [MODEL]: TINY_EMBED_DIMENSIONS } });

    const response = (await socket.node.bus.call('embed.text', '1.0', { params: { model: MODEL }, input: { texts: ['boil water', 'power outage'] } }, { node: bridge.nodeId })) as EmbedTextResponse;
    expect(response.meta).toMatchObject({ model: MODEL, served_by: bridge.nodeId });
    expect(response.output.dim).toBe(TINY_EMBED_DIMENSIONS);
    const expected = [tinyEmbeddingOf(['boil', 'water']), tinyEmbeddingOf(['power', 'outage'])];
    response.output.embeddings.forEach((vector, i) => vector.forEach((x, j) => expect(x).toBeCloseTo(expected[i][j], 5)));
  });
});

describe('loading models from the mirror', () => {
  it('logs what it loaded and what it could not; a broken model leaves the others (and the hashed model) in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearthnet-models-'));
    try {
      writeTinyEmbeddingModel(join(dir, MODEL));
      writeTinyEmbeddingModel(join(dir, 'hearth/broken'), { dtypes: ['q8'] });
      writeFileSync(join(dir, 'hearth/broken/onnx/model_quantized.onnx'), 'not an onnx graph');
      const lines: Record<string, unknown>[] = [];
      const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
      const mirror = await ModelMirror.open({ dir, logger });
      const embedders = MirrorEmbedders.start(mirror, logger);
      await waitFor(() => lines.some((l) => l.model === 'hearth/broken') && embedders.embedders.length === 1, 'both models tried', 15_000);
      expect(embedders.embedders.map((e) => [e.model, e.dimensions])).toEqual([[MODEL, TINY_EMBED_DIMENSIONS]]);
      expect(lines.find((l) => l.model === MODEL)).toMatchObject({ level: 'info', msg: 'loaded a sentence-embedding model from the mirror', dtype: 'q8', dimensions: TINY_EMBED_DIMENSIONS });
      expect(lines.find((l) => l.model === 'hearth/broken')).toMatchObject({ level: 'warn', msg: expect.stringContaining('the hashed model stays') });
      await embedders.close();
      await mirror.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

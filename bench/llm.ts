/**
 * LLM calls through the bus vs the engine directly, in the same run (issue 5 §7): tokens/s and time to first token
 * for (a) the OpenAI-compatible engine called directly, (b) llm.chat on this node through the bus, (c) llm.chat on a
 * neighbour over an in-memory link (signed frames, window/ack). The model server is the OpenAI stand-in, paced at
 * TOKEN_DELAY_MS per token like a small model on a laptop; targets: ≥ 0.95× tokens/s, ≤ 20 ms added to first token.
 * Run: `npx tsx bench/llm.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Comlink from 'comlink';
import { keyPairFromSeed, systemClock, type KeyPair } from '../src/lib/core/index.js';
import { LlmService, type GenerateRequest } from '../src/lib/llm/index.js';
import { OpenAiEngine } from '../src/lib/llm/openai/index.js';
import { PortEngine, serveEngine, type EnginePortApi } from '../src/lib/llm/port/index.js';
import { TransformersEngine } from '../src/lib/llm/transformers/index.js';
import { createNode, type HearthNode } from '../src/lib/node/index.js';
import { createMemoryLinkPair, systemScheduler, type StreamEvent } from '../src/lib/transport/index.js';
import { startOpenAiStandIn } from '../tests/support/openai-standin.js';
import { writeTinyCausalLm } from '../tests/support/tiny-causal-lm.js';
import { printTable } from './table.js';

const TOKEN_DELAY_MS = 10;
const MAX_TOKENS = 200;
const ROUNDS = 5;
const UNLIMITED = { softPerCap: 1e9, hardPerCap: 1e9, softTotal: 1e9, hardTotal: 1e9 };

const standIn = await startOpenAiStandIn({ models: ['bench-7b'], tokenDelayMs: TOKEN_DELAY_MS, replyTokens: MAX_TOKENS });
const engine = new OpenAiEngine({ baseUrl: standIn.url });
const messages = [{ role: 'user' as const, content: 'Wo gibt es heute Trinkwasser?' }];

interface Sample {
  firstTokenMs: number;
  tokens: number;
  ms: number;
}

async function timeStream(stream: () => AsyncIterable<unknown>, isToken: (item: unknown) => boolean): Promise<Sample> {
  const started = performance.now();
  let first = 0;
  let tokens = 0;
  for await (const item of stream()) {
    if (!isToken(item)) continue;
    if (tokens === 0) first = performance.now() - started;
    tokens++;
  }
  return { firstTokenMs: first, tokens, ms: performance.now() - started };
}

async function median(run: () => Promise<Sample>): Promise<Sample> {
  await run(); // warm-up: connections, JIT, schema compilation
  const samples: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) samples.push(await run());
  const mid = (f: (s: Sample) => number) => [...samples].map(f).sort((a, b) => a - b)[Math.floor(samples.length / 2)];
  return { firstTokenMs: mid((s) => s.firstTokenMs), tokens: mid((s) => s.tokens), ms: mid((s) => s.ms) };
}

async function makeNode(index: number): Promise<{ node: HearthNode; keyPair: KeyPair }> {
  const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(index + 1));
  const node = createNode({ keyPair, clock: systemClock, scheduler: systemScheduler, displayName: `bench ${index}`, profile: 'spark', communityId: 'bench', rateLimits: UNLIMITED, probeIntervalMs: 3_600_000 });
  await node.ready;
  return { node, keyPair };
}

const provider = await makeNode(0);
const asker = await makeNode(1);
const service = new LlmService({ engines: [engine], register: (r) => provider.node.register(r), clock: systemClock, selfId: provider.keyPair.nodeId });
await service.refresh();
const pair = createMemoryLinkPair(asker.keyPair.nodeId, provider.keyPair.nodeId);
asker.node.addLink(pair.a);
provider.node.addLink(pair.b);
while (!asker.node.bus.capabilities().some((c) => c.name === 'llm.chat' && !c.isLocal)) await new Promise((r) => setTimeout(r, 5));

const body = { params: { model: 'bench-7b' }, input: { messages, max_tokens: MAX_TOKENS, seed: 1 } };
const isToken = (e: unknown) => (e as StreamEvent).event === 'token';
const rate = (s: Sample) => (s.tokens * 1000) / s.ms;
// Paced like a real model, then as fast as the stand-in can send (what the bus itself costs per token).
for (const delay of [TOKEN_DELAY_MS, 0]) {
  standIn.configure({ tokenDelayMs: delay });
  const direct = await median(() =>
    timeStream(
      () => engine.generate({ model: 'bench-7b', messages, maxTokens: MAX_TOKENS, temperature: 0.7, topP: 0.95, stop: [], seed: 1, signal: new AbortController().signal } satisfies GenerateRequest),
      () => true
    )
  );
  const local = await median(() => timeStream(() => provider.node.bus.stream('llm.chat', '1.0', body), isToken));
  const remote = await median(() => timeStream(() => asker.node.bus.stream('llm.chat', '1.0', body), isToken));
  printTable(
    `llm.chat, ${MAX_TOKENS} tokens at ${delay} ms/token from the OpenAI stand-in, median of ${ROUNDS}`,
    ['path', 'tokens', 'tokens/s', 'vs engine', 'first token ms', 'added to first token ms'],
    [
      ['engine directly (HTTP + SSE)', direct.tokens, rate(direct), 1, direct.firstTokenMs, 0],
      ['bus, this node', local.tokens, rate(local), rate(local) / rate(direct), local.firstTokenMs, local.firstTokenMs - direct.firstTokenMs],
      ['bus, a neighbour (in-memory link, signed)', remote.tokens, rate(remote), rate(remote) / rate(direct), remote.firstTokenMs, remote.firstTokenMs - direct.firstTokenMs]
    ]
  );
}

// A model that runs in this process (transformers.js on a tiny genuine ONNX model the tests write): the engine
// directly, the same engine across a MessagePort as from a model worker (comlink, structured clone per token), and
// llm.chat on this node through the bus with the engine behind that port — the browser's arrangement.
const modelDir = mkdtempSync(join(tmpdir(), 'hearthnet-bench-model-'));
writeTinyCausalLm(join(modelDir, 'hearth', 'tiny'), { margin: 40 });
const tiny = new TransformersEngine({ model: 'hearth/tiny', source: { localPath: join(modelDir, 'hearth', 'tiny') }, dtype: 'fp32', device: 'cpu' });
await tiny.load();
const channel = new MessageChannel();
Comlink.expose(serveEngine(tiny), channel.port1);
const ported = new PortEngine({ remote: Comlink.wrap<EnginePortApi>(channel.port2) as unknown as EnginePortApi, id: 'port:tiny', proxy: Comlink.proxy });
const tinyNode = await makeNode(2);
const tinyService = new LlmService({ engines: [ported], register: (r) => tinyNode.node.register(r), clock: systemClock, selfId: tinyNode.keyPair.nodeId });
await tinyService.refresh();
const singing = { model: 'hearth/tiny', prompt: 'Please sing', maxTokens: MAX_TOKENS, temperature: 0, topP: 1, stop: [], seed: 1 };
const viaEngine = (engine: TransformersEngine | PortEngine) => () => timeStream(() => engine.generate({ ...singing, signal: new AbortController().signal }), () => true);
const tinyDirect = await median(viaEngine(tiny));
const tinyPorted = await median(viaEngine(ported));
const tinyBus = await median(() => timeStream(() => tinyNode.node.bus.stream('llm.complete', '1.0', { params: { model: 'hearth/tiny' }, input: { prompt: 'Please sing', max_tokens: MAX_TOKENS, temperature: 0 } }), isToken));
printTable(
  `llm.complete, ${MAX_TOKENS} tokens from a tiny ONNX model (transformers.js, onnxruntime-node), median of ${ROUNDS}`,
  ['path', 'tokens', 'tokens/s', 'vs engine', 'first token ms', 'added to first token ms'],
  [
    ['engine directly', tinyDirect.tokens, rate(tinyDirect), 1, tinyDirect.firstTokenMs, 0],
    ['across a MessagePort (model worker hop)', tinyPorted.tokens, rate(tinyPorted), rate(tinyPorted) / rate(tinyDirect), tinyPorted.firstTokenMs, tinyPorted.firstTokenMs - tinyDirect.firstTokenMs],
    ['bus, this node, engine behind the port', tinyBus.tokens, rate(tinyBus), rate(tinyBus) / rate(tinyDirect), tinyBus.firstTokenMs, tinyBus.firstTokenMs - tinyDirect.firstTokenMs]
  ]
);
tinyNode.node.stop();
channel.port1.close();
channel.port2.close();
await tiny.dispose();
rmSync(modelDir, { recursive: true, force: true });

provider.node.stop();
asker.node.stop();
await standIn.close();

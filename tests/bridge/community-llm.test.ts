/**
 * The bridge offers a configured OpenAI-compatible model server (llm.server_url) to every community it is a member
 * of: a member asks llm.chat on the mesh and the bridge's node answers, streamed (issue 5: "configured on the
 * bridge, it then offers them to the mesh"). The model server is the OpenAI stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeHandle } from '../../relay/bridge.js';
import type { StreamEvent } from '../../src/lib/transport/index.js';
import { startOpenAiStandIn, type OpenAiStandIn } from '../support/openai-standin.js';
import { foundCommunity, makeInvite, postJson, type Holder } from './community-fixtures.js';
import { makeTempDir, testConfig, waitFor } from './helpers.js';
import { SocketNode } from './socket-node.js';

describe('the bridge offers its model server to its communities', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let bridge: BridgeHandle;
  let standIn: OpenAiStandIn;
  let founder: Holder;
  let socket: SocketNode;

  beforeAll(async () => {
    standIn = await startOpenAiStandIn({ models: ['bridge-13b'], replyTokens: 12 });
    temp = await makeTempDir();
    bridge = await startBridge({ ...testConfig(temp.path), llm: { serverUrl: standIn.url } });
    founder = await foundCommunity('Lindenhof');
  });
  afterAll(async () => {
    await socket?.close().catch(() => {});
    await bridge.close();
    await standIn.close();
    await temp.remove();
  });

  it('a member asks llm.chat and the bridge answers with tokens from its model server', async () => {
    socket = await SocketNode.connect({ url: `${bridge.httpUrl.replace('http', 'ws')}/signal`, keyPair: founder.keyPair, community: founder.community, displayName: 'founder' });
    const invite = await makeInvite(founder, { invitee: bridge.nodeId });
    expect((await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: invite.blob })).status).toBe(200);
    // Once the bridge has joined (its copy of the log then knows the founder), it serves members.
    await waitFor(() => founder.community.view.member(bridge.nodeId), "the bridge's joined event at the founder", 10_000);
    await waitFor(() => socket.node.bus.capabilities().some((c) => c.name === 'llm.chat' && c.nodeId === bridge.nodeId), 'the bridge offering llm.chat', 10_000);
    const offered = socket.node.bus.capabilities().find((c) => c.name === 'llm.chat' && c.nodeId === bridge.nodeId)!;
    expect(offered.params).toEqual({ model: 'bridge-13b', models: ['bridge-13b'] });

    const events: StreamEvent[] = [];
    for await (const event of socket.node.bus.stream('llm.chat', '1.0', { params: { model: 'bridge-13b' }, input: { messages: [{ role: 'user', content: 'Wann kommt der Wasserwagen?' }] } })) events.push(event);
    expect(events.filter((e) => e.event === 'token')).toHaveLength(12);
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { model: 'bridge-13b', tokens_out: 12, stop_reason: 'end', served_by: bridge.nodeId } });
    expect(standIn.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });
});

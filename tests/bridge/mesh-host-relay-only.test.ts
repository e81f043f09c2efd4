/**
 * B7 on the tab's side: the mesh host (src/lib/client/mesh-host.ts) opens a relay link to a `relay_only` peer as
 * soon as the bridge lists it, without trying WebRTC or waiting for the 5 s fallback. Runs the real mesh host in Node
 * with `ws` standing in for the browser's WebSocket and an RTCPeerConnection that fails the test if it is touched.
 */
import { MessageChannel } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MeshHost } from '../../src/lib/client/mesh-host.js';
import { generateKeyPair, rfc3339, signPayload } from '../../src/lib/core/index.js';
import { foundCommunity, makeInvite, postJson } from './community-fixtures.js';
import { startTestBridge, waitFor, type TestBridge } from './helpers.js';

describe('B7 in the mesh host', () => {
  let bridge: TestBridge;
  const saved = { WebSocket: (globalThis as Record<string, unknown>).WebSocket, RTCPeerConnection: (globalThis as Record<string, unknown>).RTCPeerConnection };
  let webrtcAttempts = 0;

  beforeAll(async () => {
    bridge = await startTestBridge();
    const g = globalThis as Record<string, unknown>;
    g.WebSocket = WebSocket;
    g.RTCPeerConnection = class {
      constructor() {
        webrtcAttempts++;
        throw new Error('WebRTC must not be tried with a relay-only peer');
      }
    };
  });
  afterAll(async () => {
    Object.assign(globalThis, saved);
    await bridge.close();
  });

  it('B7: a relay_only peer gets a relay link at once, and the bridge node\'s frames arrive on it', async () => {
    // The bridge holds the community while joining (nobody online to sync from): its node is in the room already.
    const founder = await foundCommunity('Mesh Street');
    const joined = await postJson(`${bridge.handle.httpUrl}/bridge/community/join`, { invite: (await makeInvite(founder)).blob });
    expect(joined.body.status).toBe('joining');

    // The smaller NodeID offers WebRTC (mesh-host.ts): make the tab that side, so an attempt would show.
    let keyPair = await generateKeyPair();
    while (keyPair.nodeId > bridge.handle.nodeId) keyPair = await generateKeyPair();
    const { port1, port2 } = new MessageChannel();
    const toWorker: { type: string; linkId?: string; remoteNodeId?: string; path?: string }[] = [];
    port2.on('message', (message) => toWorker.push(message));
    const host = new MeshHost({
      bridgeUrl: bridge.wsUrl,
      nodeId: keyPair.nodeId,
      linkPort: port1 as unknown as MessagePort,
      signer: {
        signHello: (nonce) =>
          signPayload({ node_id: keyPair.nodeId, community: founder.community.communityId, display_name: 'tab', profile: 'spark', nonce, timestamp: rfc3339(Date.now()) }, keyPair),
        signSignal: async () => {
          throw new Error('no signals to a relay-only peer');
        }
      },
      onBridgeStatus: () => {}
    });
    const started = Date.now();
    host.start();
    try {
      const open = await waitFor(() => toWorker.find((m) => m.type === 'link-open'), 'a link to the bridge node', 2000, 5);
      expect(Date.now() - started).toBeLessThan(1000); // not after the 5 s WebRTC fallback
      expect(open).toMatchObject({ remoteNodeId: bridge.handle.nodeId, path: 'relay' });
      // The bridge node introduces itself (P1) over that link.
      const frame = await waitFor(() => toWorker.find((m) => m.type === 'link-frame' && m.linkId === open.linkId), 'the bridge node\'s manifest', 2000, 5);
      expect(JSON.parse((frame as unknown as { frame: string }).frame)).toMatchObject({ t: 'manifest', manifest: { node_id: bridge.handle.nodeId, profile: 'bridge' } });
      expect(webrtcAttempts).toBe(0);
    } finally {
      host.stop();
      port1.close();
    }
  });
});

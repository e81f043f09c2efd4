/**
 * The tab's side of binary frames on the relay: the node worker hands the mesh host an ArrayBuffer (a chunk part),
 * the bridge socket sends it as base64 with `bin: true`, and the other tab's mesh host gives its worker the bytes
 * back as an ArrayBuffer. Runs two real mesh hosts in Node with `ws` standing in for the browser's WebSocket, WebRTC
 * switched off so the relay is the path at once.
 */
import { MessageChannel, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MeshHost } from '../../src/lib/client/mesh-host.js';
import { generateKeyPair, rfc3339, signPayload, type KeyPair } from '../../src/lib/core/index.js';
import { startTestBridge, waitFor, type TestBridge } from './helpers.js';

interface Tab {
  keyPair: KeyPair;
  host: MeshHost;
  worker: NodeMessagePort;
  toWorker: { type: string; linkId?: string; remoteNodeId?: string; path?: string; frame?: string | ArrayBuffer }[];
  close(): void;
}

async function openTab(bridge: TestBridge, community: string): Promise<Tab> {
  const keyPair = await generateKeyPair();
  const { port1, port2 } = new MessageChannel();
  const toWorker: Tab['toWorker'] = [];
  port2.on('message', (message) => toWorker.push(message));
  const host = new MeshHost({
    bridgeUrl: bridge.wsUrl,
    nodeId: keyPair.nodeId,
    linkPort: port1 as unknown as MessagePort,
    webrtcEnabled: false,
    signer: {
      signHello: (nonce) => signPayload({ node_id: keyPair.nodeId, community, display_name: 'tab', profile: 'spark', nonce, timestamp: rfc3339(Date.now()) }, keyPair),
      signSignal: async () => {
        throw new Error('WebRTC is off');
      }
    },
    onBridgeStatus: () => {}
  });
  host.start();
  return {
    keyPair,
    host,
    worker: port2,
    toWorker,
    close() {
      host.stop();
      port1.close();
      port2.close();
    }
  };
}

describe('binary frames through the mesh host and the bridge socket', () => {
  let bridge: TestBridge;
  const saved = (globalThis as Record<string, unknown>).WebSocket;
  beforeAll(async () => {
    bridge = await startTestBridge();
    (globalThis as Record<string, unknown>).WebSocket = WebSocket;
  });
  afterAll(async () => {
    (globalThis as Record<string, unknown>).WebSocket = saved;
    await bridge.close();
  });

  it('a worker ArrayBuffer reaches the other worker byte for byte; text frames still go as text', async () => {
    const alice = await openTab(bridge, 'mesh-bin');
    const bob = await openTab(bridge, 'mesh-bin');
    try {
      const linkOpen = (tab: Tab) => waitFor(() => tab.toWorker.find((m) => m.type === 'link-open'), 'a relay link', 3000, 5);
      const [aliceLink, bobLink] = await Promise.all([linkOpen(alice), linkOpen(bob)]);
      expect(aliceLink).toMatchObject({ remoteNodeId: bob.keyPair.nodeId, path: 'relay' });

      const bytes = Uint8Array.from({ length: 48 * 1024 }, (_, i) => (i * 7 + 3) & 0xff);
      const buffer = bytes.slice().buffer;
      alice.worker.postMessage({ type: 'link-send', linkId: aliceLink.linkId, frame: buffer }, [buffer]);
      alice.worker.postMessage({ type: 'link-send', linkId: aliceLink.linkId, frame: '{"t":"ack"}' });

      const frames = await waitFor(() => {
        const got = bob.toWorker.filter((m) => m.type === 'link-frame' && m.linkId === bobLink.linkId);
        return got.length >= 2 ? got : null;
      }, 'both frames at the other worker', 3000, 5);
      expect(frames[0].frame).toBeInstanceOf(ArrayBuffer);
      expect(new Uint8Array(frames[0].frame as ArrayBuffer)).toEqual(bytes);
      expect(frames[1].frame).toBe('{"t":"ack"}');
    } finally {
      alice.close();
      bob.close();
    }
  });
});

/**
 * A hostile peer for end-to-end tests: another implementation's view of the wire. It is admitted by the real
 * bridge with its own key (as anyone on the LAN could be), then sends frames through the relay that a
 * well-behaved node never would, and records every frame the browser node sends back.
 */
import WebSocket from 'ws';
import { buildNodeManifest, generateKeyPair, rfc3339, signPayload, systemClock, type Clock, type KeyPair } from '../../src/lib/core/index.js';
import { FrameSigner, type PeerFrame } from '../../src/lib/transport/index.js';
import { OPEN_COMMUNITY_ID } from '../../src/lib/client/api.js';

export class Intruder {
  readonly received: { from: string; frame: PeerFrame }[] = [];

  private constructor(
    readonly keyPair: KeyPair,
    private readonly socket: WebSocket
  ) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { t: string; from?: string; frame?: string };
      if (message.t === 'relay' && message.from && message.frame) {
        this.received.push({ from: message.from, frame: JSON.parse(message.frame) as PeerFrame });
      }
    });
  }

  static async join(bridgeUrl: string): Promise<Intruder> {
    const keyPair = await generateKeyPair();
    const socket = new WebSocket(bridgeUrl.replace(/^http/, 'ws') + '/signal');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', async (data) => {
        const message = JSON.parse(String(data)) as { t: string; nonce?: string };
        if (message.t === 'challenge') {
          const hello = await signPayload(
            { node_id: keyPair.nodeId, community: OPEN_COMMUNITY_ID, display_name: 'intruder', profile: 'spark', nonce: message.nonce!, timestamp: rfc3339(Date.now()) },
            keyPair
          );
          socket.send(JSON.stringify({ t: 'hello', hello }));
        } else if (message.t === 'welcome') {
          resolve();
        }
      });
    });
    return new Intruder(keyPair, socket);
  }

  signer(clock: Clock = systemClock): FrameSigner {
    return new FrameSigner(this.keyPair, clock);
  }

  send(to: string, frame: unknown): void {
    this.socket.send(JSON.stringify({ t: 'relay', to, frame: typeof frame === 'string' ? frame : JSON.stringify(frame) }));
  }

  async introduce(to: string): Promise<void> {
    const manifest = await buildNodeManifest(this.keyPair, { communityId: OPEN_COMMUNITY_ID, displayName: 'intruder', profile: 'spark' }, systemClock);
    this.send(to, { t: 'manifest', manifest });
  }

  /** The node's reply to `requestId`, once it arrives (polling the recorded frames with a deadline). */
  async responseTo(requestId: string, deadlineMs = 10_000): Promise<Extract<PeerFrame, { t: 'response' }>['response']> {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      const hit = this.received.find((r) => r.frame.t === 'response' && r.frame.response.request_id === requestId);
      if (hit && hit.frame.t === 'response') return hit.frame.response;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no response to ${requestId} within ${deadlineMs} ms`);
  }

  responsesTo(requestId: string): number {
    return this.received.filter((r) => r.frame.t === 'response' && r.frame.response.request_id === requestId).length;
  }

  close(): void {
    this.socket.close();
  }
}

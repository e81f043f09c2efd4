/**
 * A hand-driven peer for wire-level tests: it speaks frames directly over a memory link to a real node, so a test
 * can send what a well-behaved node never would (no manifest, stale or replayed calls, no acks) and see every
 * frame the node sends back.
 */
import { buildNodeManifest, keyPairFromSeed, type KeyPair } from '../../../src/lib/core/index.js';
import { createNode, type HearthNode } from '../../../src/lib/node/index.js';
import { createMemoryLinkPair, encodeFrame, FrameSigner, type MemoryLinkPair, type PeerFrame } from '../../../src/lib/transport/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

export const LINK_DELAY_MS = 5;

export async function nodeUnderTest(time: VirtualTime, seed = 1): Promise<{ node: HearthNode; keyPair: KeyPair }> {
  const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(seed));
  // Probes off: these tests count frames, and a ping every 5 s would add to them.
  const node = createNode({ keyPair, clock: time, scheduler: time, displayName: 'node under test', profile: 'spark', communityId: 'test:community', probeIntervalMs: 3_600_000 });
  await node.ready;
  return { node, keyPair };
}

export class RawPeer {
  /** Every frame the node sent us, parsed, in arrival order. */
  readonly received: PeerFrame[] = [];
  readonly signer: FrameSigner;

  private constructor(
    readonly keyPair: KeyPair,
    readonly pair: MemoryLinkPair,
    private readonly time: VirtualTime
  ) {
    this.signer = new FrameSigner(keyPair, time);
    pair.b.onFrame((raw) => this.received.push(JSON.parse(raw as string) as PeerFrame));
  }

  /** Links a raw peer to `node` (which gets end `a`); the peer holds end `b`. */
  static async connect(node: HearthNode, time: VirtualTime, seed = 9, linkId = `raw-${seed}`): Promise<RawPeer> {
    const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(seed));
    const pair = createMemoryLinkPair(node.identity().nodeId, keyPair.nodeId, { id: linkId, scheduler: time, clock: time, delayMs: LINK_DELAY_MS });
    node.addLink(pair.a);
    return new RawPeer(keyPair, pair, time);
  }

  get nodeId(): string {
    return this.keyPair.nodeId;
  }

  async send(frame: PeerFrame | string): Promise<void> {
    await this.pair.b.send(typeof frame === 'string' ? frame : encodeFrame(frame));
  }

  async introduce(): Promise<void> {
    const manifest = await buildNodeManifest(this.keyPair, { communityId: 'test:community', displayName: 'raw', profile: 'spark' }, this.time);
    await this.send({ t: 'manifest', manifest });
  }

  framesOf<T extends PeerFrame['t']>(t: T): Extract<PeerFrame, { t: T }>[] {
    return this.received.filter((f): f is Extract<PeerFrame, { t: T }> => f.t === t);
  }

  responseTo(requestId: string) {
    return this.framesOf('response').find((f) => f.response.request_id === requestId)?.response;
  }

  streamOf(requestId: string) {
    return this.framesOf('stream')
      .map((f) => f.frame)
      .filter((f) => f.request_id === requestId);
  }
}


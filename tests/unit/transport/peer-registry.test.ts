import { beforeAll, describe, expect, it } from 'vitest';
import { buildNodeManifest, type KeyPair, type NodeManifest } from '../../../src/lib/core/index.js';
import { PeerRegistry, preferredPath, type PeerEvent } from '../../../src/lib/transport/index.js';
import { ManualClock, T0, testKey } from './fixtures.js';

let alice: KeyPair;
let bob: KeyPair;

beforeAll(async () => {
  alice = await testKey(1);
  bob = await testKey(2);
});

async function manifestOf(keyPair: KeyPair, clock: ManualClock, displayName = 'peer'): Promise<NodeManifest> {
  return buildNodeManifest(keyPair, { communityId: 'test:community', displayName, profile: 'hearth' }, clock);
}

function setup() {
  const clock = new ManualClock();
  const registry = new PeerRegistry(clock);
  const events: string[] = [];
  registry.subscribe((e: PeerEvent) => events.push(`${e.kind} ${e.peer.displayName} ${e.peer.path}`));
  return { clock, registry, events };
}

describe('peer registry', () => {
  it('P1: adds a peer on its first verified manifest and updates it on republish', async () => {
    const { clock, registry, events } = setup();
    registry.upsertManifest(await manifestOf(alice, clock, 'Alice'), { id: 'l1', path: 'relay' });
    clock.ms = T0 + 20_000;
    registry.upsertManifest(await manifestOf(alice, clock, 'Alice B.'), { id: 'l1', path: 'relay' });
    expect(events).toEqual(['added Alice relay', 'updated Alice B. relay']);
    const [peer] = registry.all();
    expect(peer).toMatchObject({
      nodeId: alice.nodeId,
      shortId: alice.shortId,
      displayName: 'Alice B.',
      profile: 'hearth',
      communityId: 'test:community',
      links: [{ id: 'l1', path: 'relay' }],
      path: 'relay',
      rttMs: null,
      lastSeenMs: T0 + 20_000
    });
    expect(peer.manifest.issued_at).toBe('2026-01-01T12:00:20Z');
  });

  it('prefers webrtc over relay over memory', async () => {
    const { clock, registry } = setup();
    const manifest = await manifestOf(alice, clock);
    registry.upsertManifest(manifest, { id: 'm', path: 'memory' });
    expect(registry.get(alice.nodeId)?.path).toBe('memory');
    registry.upsertManifest(manifest, { id: 'w', path: 'webrtc' });
    registry.upsertManifest(manifest, { id: 'r', path: 'relay' });
    expect(registry.get(alice.nodeId)?.path).toBe('webrtc');
    expect(preferredPath([{ id: 'r', path: 'relay' }, { id: 'm', path: 'memory' }])).toBe('relay');
    expect(preferredPath([])).toBeNull();
  });

  it('P7: a closed link removes its peer at once unless another link to it is open', async () => {
    const { clock, registry, events } = setup();
    const manifest = await manifestOf(alice, clock, 'Alice');
    registry.upsertManifest(manifest, { id: 'w', path: 'webrtc' });
    registry.upsertManifest(manifest, { id: 'r', path: 'relay' });
    registry.linkClosed(alice.nodeId, 'w');
    expect(registry.get(alice.nodeId)?.path).toBe('relay');
    registry.linkClosed(alice.nodeId, 'unknown');
    registry.linkClosed(alice.nodeId, 'r');
    expect(registry.all()).toEqual([]);
    expect(events).toEqual(['added Alice webrtc', 'updated Alice webrtc', 'updated Alice relay', 'removed Alice relay']);
  });

  it('P7: prunes a peer silent for 90 s, and one silent for 30 s in emergency mode', async () => {
    const { clock, registry } = setup();
    registry.upsertManifest(await manifestOf(alice, clock), { id: 'a', path: 'memory' });
    registry.upsertManifest(await manifestOf(bob, clock), { id: 'b', path: 'memory' });
    clock.ms = T0 + 60_000;
    registry.touch(bob.nodeId); // any verified frame counts, not only manifests
    clock.ms = T0 + 90_000;
    expect(registry.prune()).toBe(0);
    clock.ms = T0 + 90_001;
    expect(registry.prune()).toBe(1);
    expect(registry.all().map((p) => p.nodeId)).toEqual([bob.nodeId]);
    registry.setEmergency(true);
    expect(registry.pruneAfterSeconds).toBe(30);
    clock.ms = T0 + 90_000 + 1;
    expect(registry.prune()).toBe(1);
    expect(registry.all()).toEqual([]);
  });

  it('records RTT as an update and ignores unknown peers', async () => {
    const { clock, registry, events } = setup();
    registry.recordRtt(alice.nodeId, 12);
    registry.touch(alice.nodeId);
    registry.upsertManifest(await manifestOf(alice, clock, 'Alice'), { id: 'a', path: 'memory' });
    registry.recordRtt(alice.nodeId, 12);
    expect(registry.get(alice.nodeId)?.rttMs).toBe(12);
    expect(events).toEqual(['added Alice memory', 'updated Alice memory']);
  });

  it('hands out copies, and survives a listener that throws', async () => {
    const { clock, registry, events } = setup();
    registry.subscribe(() => {
      throw new Error('ui bug');
    });
    registry.upsertManifest(await manifestOf(alice, clock, 'Alice'), { id: 'a', path: 'memory' });
    const copy = registry.all()[0];
    copy.links.push({ id: 'fake', path: 'webrtc' });
    expect(registry.get(alice.nodeId)?.links).toHaveLength(1);
    expect(events).toEqual(['added Alice memory']);
  });

  it('unsubscribes', async () => {
    const { clock, registry } = setup();
    const seen: PeerEvent[] = [];
    const unsubscribe = registry.subscribe((e) => seen.push(e));
    unsubscribe();
    registry.upsertManifest(await manifestOf(alice, clock), { id: 'a', path: 'memory' });
    expect(seen).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, signPayload, ulidGenerator } from '../../../src/lib/core/index.js';
import { Community, deriveManifest, signManifest, verifyManifest } from '../../../src/lib/community/index.js';
import { MemoryEventStore } from '../../../src/lib/events/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

async function founded() {
  const time = new VirtualTime();
  const founder = await keyPairFromSeed(new Uint8Array(32).fill(1));
  const rootKey = await keyPairFromSeed(new Uint8Array(32).fill(2));
  const community = await Community.found({ name: 'Hof', displayName: 'F', rootKey }, { keyPair: founder, clock: time, nextId: ulidGenerator(time), storeFor: () => new MemoryEventStore() });
  return { community, founder, time };
}

describe('community manifest (contract §6.2)', () => {
  it('is derived from the log, signed by an anchor, and verifies for its community only', async () => {
    const { community, founder } = await founded();
    const invitee = await keyPairFromSeed(new Uint8Array(32).fill(3));
    await community.invite({ inviteeNodeId: invitee.nodeId });
    const manifest = await signManifest(community.view, founder);
    expect(manifest).toMatchObject({ version: 1, community_id: community.communityId, root_key: community.communityId, name: 'Hof', members: [{ node_id: founder.nodeId, level: 'anchor' }], revoked: [] });
    expect(manifest.head_lamport).toBe(community.log.head);
    const anchors = [founder.nodeId];
    expect(await verifyManifest(manifest, community.communityId, anchors)).toBe(founder.nodeId);
    await expect(verifyManifest(manifest, 'ed25519:' + 'X'.repeat(43), anchors)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(verifyManifest({ ...manifest, name: 'Forged' }, community.communityId, anchors)).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('a stranger who signs a manifest naming themselves anchor is not believed', async () => {
    const { community, founder } = await founded();
    const stranger = await keyPairFromSeed(new Uint8Array(32).fill(8));
    const forged = deriveManifest(community.view);
    forged.members = [{ node_id: stranger.nodeId, level: 'anchor', added_at: forged.created_at, added_by: stranger.nodeId }];
    const signed = await signPayload({ ...forged }, stranger);
    await expect(verifyManifest(signed, community.communityId, [founder.nodeId])).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('only an anchor signs it', async () => {
    const { community } = await founded();
    const stranger = await keyPairFromSeed(new Uint8Array(32).fill(9));
    await expect(signManifest(community.view, stranger)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(deriveManifest(community.view).members).toHaveLength(1);
  });
});

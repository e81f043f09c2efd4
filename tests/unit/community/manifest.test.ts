import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, ulidGenerator } from '../../../src/lib/core/index.js';
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
    expect(await verifyManifest(manifest, community.communityId)).toBe(founder.nodeId);
    await expect(verifyManifest(manifest, 'ed25519:' + 'X'.repeat(43))).rejects.toMatchObject({ code: 'bad_request' });
    await expect(verifyManifest({ ...manifest, name: 'Forged' }, community.communityId)).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('only an anchor signs it', async () => {
    const { community } = await founded();
    const stranger = await keyPairFromSeed(new Uint8Array(32).fill(9));
    await expect(signManifest(community.view, stranger)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(deriveManifest(community.view).members).toHaveLength(1);
  });
});

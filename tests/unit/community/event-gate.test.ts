/** K1: the gate learns only from events that were actually stored. */
import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, ulidGenerator } from '../../../src/lib/core/index.js';
import { Community } from '../../../src/lib/community/index.js';
import { MemoryEventStore, type EventEnvelope } from '../../../src/lib/events/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

/** A store whose next put fails, as a full disk or a closed database would. */
class FailingOnceStore extends MemoryEventStore {
  failNext = false;
  override async put(events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    return super.put(events);
  }
}

describe('admission gate (K1)', () => {
  it('a join whose write failed does not make its author known; the events come in once it is stored', async () => {
    const time = new VirtualTime();
    const founderKey = await keyPairFromSeed(new Uint8Array(32).fill(1));
    const founder = await Community.found(
      { name: 'G', displayName: 'f', rootKey: await keyPairFromSeed(new Uint8Array(32).fill(2)) },
      { keyPair: founderKey, clock: time, nextId: ulidGenerator(time), storeFor: () => new MemoryEventStore() }
    );
    const post = await founder.append('market.post.created', { client_id: 'p', category: 'info', title: 'x' });
    const [genesis] = await founder.log.events();
    const store = new FailingOnceStore();
    const reader = await Community.open({ store, keyPair: await keyPairFromSeed(new Uint8Array(32).fill(3)), communityId: founder.communityId, clock: time, nextId: ulidGenerator(time) });
    store.failNext = true;
    await expect(reader.ingest([genesis])).rejects.toThrow('disk full');
    expect(reader.isKnownAuthor(founderKey.nodeId)).toBe(false);
    const refused = await reader.ingest([post]);
    expect(refused.rejected.map((r) => r.code)).toEqual(['unauthorized']);
    const stored = await reader.ingest([post, genesis]);
    expect(stored.accepted).toHaveLength(2);
    expect(reader.isKnownAuthor(founderKey.nodeId)).toBe(true);
  });
});

/** Communities for bridge tests: founding one in memory, invites for the bridge and for newcomers, the replica on disk. */
import { join } from 'node:path';
import { Community, encodeInvite, proveInvite, signInvite, type CommunityPolicy, type InviteCredential } from '../../src/lib/community/index.js';
import { base64UrlEncode, generateKeyPair, systemClock, ulidGenerator, type Clock, type KeyPair } from '../../src/lib/core/index.js';
import { eventKey, MemoryEventStore } from '../../src/lib/events/index.js';
import { communityViews } from '../../src/lib/node/index.js';
import { COMMUNITIES_DIR } from '../../relay/community-registry.js';
import { SqliteEventStore } from '../../relay/sqlite-event-store.js';

export interface Holder {
  keyPair: KeyPair;
  community: Community;
}

/** A community founded in memory; `clock` (default the system's) is the founder's, e.g. to date an invite's expiry. */
export async function foundCommunity(name = 'Oak Street', policy?: Partial<CommunityPolicy>, clock: Clock = systemClock): Promise<Holder> {
  const keyPair = await generateKeyPair();
  const store = new MemoryEventStore();
  const community = await Community.found(
    { name, displayName: 'founder', policy },
    { keyPair, clock, nextId: ulidGenerator(clock), storeFor: () => store, views: communityViews }
  );
  return { keyPair, community };
}

/** A fresh device's empty copy of `communityId`. */
export async function openJoiner(communityId: string, keyPair?: KeyPair): Promise<Holder> {
  const kp = keyPair ?? (await generateKeyPair());
  const community = await Community.open({ store: new MemoryEventStore(), keyPair: kp, communityId, clock: systemClock, nextId: ulidGenerator(systemClock), views: communityViews });
  return { keyPair: kp, community };
}

export interface MadeInvite {
  blob: string;
  eventId: string;
  /** What the invitee presents (with a proof for a one-scan invite, made for `redeemer`). */
  credentialFor(redeemer: string): Promise<InviteCredential>;
  secretSeed: Uint8Array | null;
}

/** An invite written to the inviter's log: addressed to `invitee`, or one-scan without. */
export async function makeInvite(inviter: Holder, options: { invitee?: string; ttlSeconds?: number; bootstrap?: string[] } = {}): Promise<MadeInvite> {
  const { community, keyPair } = inviter;
  const { event, secretSeed } = await community.invite({ inviteeNodeId: options.invitee, ttlSeconds: options.ttlSeconds });
  const invite = await signInvite(
    {
      community_id: community.communityId,
      community_name: community.view.genesis?.name ?? 'x',
      invitee_node_id: event.data.invitee_node_id as string,
      initial_level: 'member',
      expires_at: event.data.expires_at as string,
      invite_event_id: event.event_id,
      bootstrap: options.bootstrap ?? [],
      ...(secretSeed ? { invite_secret: base64UrlEncode(secretSeed) } : {})
    },
    keyPair
  );
  return {
    blob: encodeInvite(invite),
    eventId: event.event_id,
    secretSeed,
    async credentialFor(redeemer) {
      if (!secretSeed) return { invite_event_id: event.event_id };
      return { invite_event_id: event.event_id, proof: await proveInvite(secretSeed, { community_id: community.communityId, invite_event_id: event.event_id, node_id: redeemer }) };
    }
  };
}

/** Appends `count` chat messages (a few hundred bytes each) to `holder`'s log. */
export async function appendMessages(holder: Holder, count: number, tag = 'm'): Promise<void> {
  for (let i = 0; i < count; i++) {
    await holder.community.append('chat.message.sent', { text: `${tag} ${i}: ${'the shelter on Elm Street has blankets and water; '.repeat(4)}` });
  }
}

/** The replay keys of the bridge's SQLite replica of `communityId` (opened read-side while the bridge may run). */
export async function replicaKeys(dataDir: string, communityId: string): Promise<string[]> {
  const store = SqliteEventStore.open(join(dataDir, COMMUNITIES_DIR), communityId);
  try {
    return (await store.all()).map((e) => eventKey(e.lamport, e.event_id));
  } finally {
    store.close();
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null), headers: res.headers };
}

export async function listHeld(httpUrl: string): Promise<any[]> {
  return (await fetch(`${httpUrl}/bridge/community`)).json() as Promise<any[]>;
}

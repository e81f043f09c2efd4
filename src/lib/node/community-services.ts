/**
 * The community's services on one node (STYLE §4–5): log sync and the marketplace, wired to the node's bus and
 * the community's log and views. The composition root of a member node calls this once the community is open;
 * `communityViews` is what `Community.open` needs so the marketplace replays with the membership view.
 */
import { ulidGenerator, type Clock } from '../core/index.js';
import { CosignInbox, LogSync, type Community, type InviteCredential } from '../community/index.js';
import type { MaterialisedView } from '../events/index.js';
import { LibraryView } from '../library/index.js';
import { MarketSweeper, MarketView, marketCapabilities } from '../market/index.js';
import type { EmbedFn } from '../rag/ports.js';
import type { Scheduler } from '../transport/index.js';
import type { HearthNode, NodeLog } from './types.js';

/** The views every member node replays after the membership view, in order. */
export function communityViews(community: Community): MaterialisedView[] {
  return [new MarketView(community.view), new LibraryView(community.view)];
}

/**
 * Whom this node syncs with: members only, so the log is never sent to a node outside the community (S4). While we
 * are joining, whoever is linked and not revoked: we call them showing our invite, and they decide.
 */
export function syncPeersOf(node: Pick<HearthNode, 'peers'>, community: Community): string[] {
  const joining = !community.view.member(community.selfId);
  return node
    .peers()
    .filter((p) => p.communityId === community.communityId && (joining ? community.levelOf(p.nodeId) !== 'revoked' : community.view.member(p.nodeId) !== undefined))
    .map((p) => p.nodeId);
}

export interface CommunityServices {
  sync: LogSync;
  market: MarketView;
  /** Co-sign requests from other trusted members, waiting for a person here. */
  cosign: CosignInbox;
  stop(): void;
}

export interface CommunityServicesOptions {
  node: HearthNode;
  community: Community;
  clock: Clock;
  scheduler: Scheduler;
  /** Ours while we hold an invite but have not joined yet. */
  credential?: () => InviteCredential | null;
  log?: NodeLog;
  /** Makes market.search hybrid (words and meaning); without it, it searches by words only. */
  embed?: EmbedFn;
}

export function startCommunityServices(options: CommunityServicesOptions): CommunityServices {
  const { node, community, clock, scheduler } = options;
  const market = community.engine.view('market') as MarketView;
  const sync = new LogSync({
    community,
    bus: node.bus,
    clock,
    scheduler,
    peers: () => syncPeersOf(node, community),
    credential: options.credential,
    log: (level, message, fields) => options.log?.(level, message, fields)
  });
  const cosign = new CosignInbox(community, clock, ulidGenerator(clock));
  const withdraw = [node.register(sync.registration()), node.register(sync.headsRegistration()), node.register(cosign.registration())];
  const marketDeps = {
    view: market,
    append: (type: Parameters<Community['append']>[0], data: Record<string, unknown>) => community.append(type, data),
    levelOf: (nodeId: string) => community.view.levelOf(nodeId),
    clock,
    selfId: community.selfId,
    embed: options.embed,
    log: options.log
  };
  for (const registration of marketCapabilities(marketDeps)) withdraw.push(node.register(registration));
  const sweeper = new MarketSweeper({ ...marketDeps, scheduler });
  sync.start();
  sweeper.start();
  // A peer that appears (or comes back) is synced with at once, not at the next round.
  const unsubscribe = node.subscribe(({ kind, peer }) => {
    if (kind === 'added' && syncPeersOf(node, community).includes(peer.nodeId)) void sync.syncWith(peer.nodeId);
  });
  return {
    sync,
    market,
    cosign,
    stop() {
      unsubscribe();
      sweeper.stop();
      sync.stop();
      for (const w of withdraw) w();
    }
  };
}

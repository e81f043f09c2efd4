/** A node's marketplace as the composition root would wire it: its log feeds a replay engine that feeds the view. */
import { HearthError } from '../../../src/lib/core/index.js';
import type { CallerLevel, CapabilityRegistration } from '../../../src/lib/bus/index.js';
import { ReplayEngine } from '../../../src/lib/events/view.js';
import { MarketSweeper, MarketView, marketCapabilities, type MarketDeps } from '../../../src/lib/market/index.js';
import type { Author, Community } from './fixtures.js';

export interface MarketNode {
  me: Author;
  view: MarketView;
  caps: Record<string, CapabilityRegistration>;
  sweeper: MarketSweeper;
  call(name: string, input: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The HearthError a call fails with. */
  refusal(name: string, input: Record<string, unknown>): Promise<HearthError>;
}

/** `extra`: the optional deps (an embedder for hybrid search, a log). */
export async function marketNode(c: Community, seed: number, level: CallerLevel = 'member', extra: Pick<MarketDeps, 'embed' | 'log'> = {}): Promise<MarketNode> {
  const me = await c.author(seed, level);
  const view = new MarketView(c.standing);
  const engine = new ReplayEngine();
  engine.register(view);
  engine.rebuild(await me.log.events());
  me.log.subscribe((added) => void engine.added(added, () => me.log.events()));
  const deps = { view, append: me.log.append.bind(me.log), levelOf: c.standing.levelOf, clock: c.time, selfId: me.id, ...extra };
  const caps = Object.fromEntries(marketCapabilities(deps).map((r) => [r.name, r]));
  const sweeper = new MarketSweeper({ ...deps, scheduler: c.time });
  const call = async (name: string, input: Record<string, unknown>) => {
    const ctx = { caller: me.id, requestId: 'req', signal: new AbortController().signal };
    return (await caps[name].handler({ params: {}, input }, ctx)) as Record<string, unknown>;
  };
  const refusal = async (name: string, input: Record<string, unknown>) => {
    const error = await call(name, input).then(() => null, (err: unknown) => err);
    if (!(error instanceof HearthError)) throw new Error(`expected a HearthError from ${name}, got ${String(error)}`);
    return error;
  };
  return { me, view, caps, sweeper, call, refusal };
}

export const postInput = (clientId: string, extra: Record<string, unknown> = {}) => ({ client_id: clientId, category: 'offer', title: `Post ${clientId}`, ...extra });

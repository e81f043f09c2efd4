/** Helpers for bus simulations: meshes of real nodes, capabilities appearing, and calls run under virtual time. */
import { HearthError } from '../../src/lib/core/index.js';
import type { StreamEvent } from '../../src/lib/transport/index.js';
import { SimNetwork, type SimNetworkOptions } from './network.js';
import type { VirtualTime } from './virtual-time.js';

/** A fully connected mesh with probes off (they would add calls to every count), settled. */
export async function busMesh(size: number, seed: number, options: Partial<SimNetworkOptions> = {}): Promise<SimNetwork> {
  const net = await SimNetwork.create({ size, seed, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000, ...options });
  net.connectAll();
  await net.run(50);
  return net;
}

/** Advances virtual time until node `at` lists `name` offered by every node in `providers`. */
export async function awaitOffer(net: SimNetwork, at: number, name: string, providers: number[], limitMs = 1_000, version = '1.0'): Promise<number> {
  const wanted = providers.map((p) => net.nodeId(p));
  return net.time.until(() => {
    const offering = new Set(net.nodes[at].bus.registry.find(name, version).map((e) => e.nodeId));
    return wanted.every((id) => offering.has(id));
  }, limitMs);
}


export type Outcome = { ok: true; value: unknown } | { ok: false; error: HearthError };

/** Settles every promise under virtual time, never throwing: what each caller saw. */
export async function outcomes(net: SimNetwork, promises: Promise<unknown>[], limitMs = 60_000): Promise<Outcome[]> {
  const settled = promises.map((p) =>
    p.then(
      (value): Outcome => ({ ok: true, value }),
      (err: unknown): Outcome => ({ ok: false, error: HearthError.from(err) })
    )
  );
  return net.time.resolve(Promise.all(settled), limitMs);
}

export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}


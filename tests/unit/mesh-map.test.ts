import { describe, expect, it } from 'vitest';
import type { CallTrace, CapabilityRow, PeerView } from '../../src/lib/client/api.js';
import { buildCapabilityMatrix, cellAt } from '../../src/lib/ui/mesh-map/capability-matrix.js';
import { ForceLayout, LAYOUT_HEIGHT, LAYOUT_WIDTH } from '../../src/lib/ui/mesh-map/force-layout.js';
import { routePoints } from '../../src/lib/ui/mesh-map/geometry.js';
import { LINK_COLOURS, SLOW_RTT_MS, STALE_AFTER_MS } from '../../src/lib/ui/mesh-map/link-style.js';
import { ROUTE_FRESH_MS, ROUTE_LINGER_MS, ROUTE_TRAVEL_MS, RouteQueue } from '../../src/lib/ui/mesh-map/route-queue.js';
import { buildTopology, describeTopology, mapNodes, type SelfView } from '../../src/lib/ui/mesh-map/topology-model.js';

/** The Mesh map's model (issue 5 item 5): links by path and health, stable layout, one animation per new call, the matrix. */
const NOW = Date.parse('2025-06-01T12:00:00Z');
const SELF: SelfView = { nodeId: 'ed25519:self', shortId: 'ed25519:SELF', displayName: 'Kitchen tablet', profile: 'hearth' };

function peer(id: string, fields: Partial<PeerView> = {}): PeerView {
  return { nodeId: `ed25519:${id}`, shortId: id.toUpperCase(), displayName: `Neighbour ${id}`, profile: 'hearth', path: 'webrtc', rttMs: 4, lastSeenMs: NOW - 1000, ...fields };
}

function capability(nodeId: string, name: string, fields: Partial<CapabilityRow> = {}): CapabilityRow {
  const version = fields.version ?? '1.0';
  return {
    key: `${nodeId} ${name}@${version}`,
    nodeId,
    name,
    version,
    isLocal: nodeId === SELF.nodeId,
    stability: 'stable',
    params: {},
    maxConcurrent: 16,
    inFlight: 0,
    trustRequired: null,
    idempotent: true,
    schemaHash: 'x',
    samples: 0,
    successRate: 1,
    p50Ms: 0,
    p99Ms: 0,
    quarantinedUntil: 0,
    lastSeenMs: NOW,
    nodeName: nodeId === SELF.nodeId ? 'Kitchen tablet (this node)' : `Neighbour ${nodeId.slice(8)}`,
    nodeShortId: nodeId.slice(8).toUpperCase(),
    quarantined: false,
    ...fields
  };
}

function call(fields: Partial<CallTrace> & { trace_id: string }): CallTrace {
  return {
    ts: new Date(NOW - 50).toISOString(),
    capability: 'experimental.echo',
    version: '1.0',
    from_node: SELF.nodeId,
    to_node: 'ed25519:b',
    is_local: false,
    result: 'ok',
    ms: 12,
    tokens_in: null,
    tokens_out: null,
    bytes_in: 10,
    bytes_out: 10,
    direction: 'out',
    path: 'webrtc',
    stream: false,
    ...fields
  };
}

describe('topology model', () => {
  it('draws one link per peer from this device, coloured and dashed by path when healthy', () => {
    const topology = buildTopology({ self: SELF, peers: [peer('a'), peer('b', { path: 'relay', rttMs: 30 })], capabilities: [], nowMs: NOW });
    expect(topology.nodes.map((n) => [n.id, n.role])).toEqual([
      [SELF.nodeId, 'self'],
      ['ed25519:a', 'peer'],
      ['ed25519:b', 'peer']
    ]);
    const [direct, relayed] = topology.links;
    expect(direct).toMatchObject({ source: SELF.nodeId, target: 'ed25519:a', path: 'webrtc', health: 'good', colour: LINK_COLOURS.webrtc, dash: null });
    expect(relayed).toMatchObject({ target: 'ed25519:b', path: 'relay', health: 'good', colour: LINK_COLOURS.relay, via: null });
    expect(relayed.dash).not.toBeNull();
  });

  it('colours a link by its health: slow round trips, quarantined providers, silence', () => {
    const peers = [
      peer('slow', { rttMs: SLOW_RTT_MS + 1 }),
      peer('failing'),
      peer('silent', { lastSeenMs: NOW - STALE_AFTER_MS - 1, rttMs: SLOW_RTT_MS * 2 }),
      peer('fine', { rttMs: null })
    ];
    const capabilities = [capability('ed25519:failing', 'llm.chat', { quarantined: true, quarantinedUntil: NOW + 60_000 })];
    const topology = buildTopology({ self: SELF, peers, capabilities, nowMs: NOW });
    const health = Object.fromEntries(topology.links.map((l) => [l.target.slice(8), [l.health, l.colour]]));
    expect(health).toEqual({
      slow: ['slow', LINK_COLOURS.slow],
      failing: ['failing', LINK_COLOURS.failing],
      // Silence outranks slowness: the peer may be gone.
      silent: ['stale', LINK_COLOURS.stale],
      fine: ['good', LINK_COLOURS.webrtc]
    });
    // Health keeps the path readable: the dash pattern still says which way frames travel.
    expect(topology.links.every((l) => l.dash === null)).toBe(true);
    expect(topology.nodes.find((n) => n.id === 'ed25519:failing')?.failing).toBe(true);
  });

  it('shows the bridge as its own kind of node and draws relayed links through it', () => {
    const bridge = peer('bridge', { profile: 'bridge', path: 'relay', displayName: 'Bridge' });
    const topology = buildTopology({ self: SELF, peers: [bridge, peer('far', { path: 'relay' })], capabilities: [], nowMs: NOW });
    expect(topology.nodes.find((n) => n.id === 'ed25519:bridge')?.role).toBe('bridge');
    expect(topology.links.find((l) => l.target === 'ed25519:bridge')?.via).toBeNull();
    expect(topology.links.find((l) => l.target === 'ed25519:far')?.via).toBe('ed25519:bridge');
  });

  it('adds nodes known only from their capabilities, unlinked', () => {
    const topology = buildTopology({ self: SELF, peers: [peer('a')], capabilities: [capability('ed25519:gone', 'rag.query')], nowMs: NOW });
    expect(topology.nodes.find((n) => n.id === 'ed25519:gone')).toMatchObject({ linked: false, capabilities: 1 });
    expect(topology.links.map((l) => l.target)).toEqual(['ed25519:a']);
  });

  it('summarises the picture in words for its accessible name', () => {
    const lonely = buildTopology({ self: SELF, peers: [], capabilities: [], nowMs: NOW });
    expect(describeTopology(lonely)).toBe('Mesh map: this device, Kitchen tablet, has no neighbours yet.');
    const busy = buildTopology({ self: SELF, peers: [peer('a'), peer('b', { path: 'relay', rttMs: 900 })], capabilities: [], nowMs: NOW });
    expect(describeTopology(busy)).toBe(
      'Mesh map: this device, Kitchen tablet, is linked to 2 neighbours: 1 direct (WebRTC), 1 through the bridge (relay). 1 of them needs attention.'
    );
  });
});

describe('force layout', () => {
  const linksTo = (ids: string[]) => ids.map((id) => ({ source: SELF.nodeId, target: id }));

  it('keeps every placed node exactly where it was when peers come and go', () => {
    const layout = new ForceLayout();
    const first = layout.update([SELF.nodeId, 'a', 'b'], linksTo(['a', 'b']), SELF.nodeId);
    expect(first.get(SELF.nodeId)).toEqual({ x: 0, y: 0 });
    const grown = layout.update([SELF.nodeId, 'a', 'b', 'c'], linksTo(['a', 'b', 'c']), SELF.nodeId);
    expect(grown.get('a')).toEqual(first.get('a'));
    expect(grown.get('b')).toEqual(first.get('b'));
    const shrunk = layout.update([SELF.nodeId, 'a', 'c'], linksTo(['a', 'c']), SELF.nodeId);
    expect(shrunk.get('a')).toEqual(first.get('a'));
    expect(shrunk.get('c')).toEqual(grown.get('c'));
    expect(shrunk.has('b')).toBe(false);
  });

  it('places newcomers apart, inside the drawing, and the same way every time', () => {
    const ids = [SELF.nodeId, ...'abcdef'];
    const one = new ForceLayout().update(ids, linksTo([...'abcdef']), SELF.nodeId);
    const two = new ForceLayout().update(ids, linksTo([...'abcdef']), SELF.nodeId);
    expect([...one]).toEqual([...two]);
    const points = [...one.values()];
    for (const p of points) {
      expect(Math.abs(p.x)).toBeLessThanOrEqual(LAYOUT_WIDTH / 2);
      expect(Math.abs(p.y)).toBeLessThanOrEqual(LAYOUT_HEIGHT / 2);
    }
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) {
        expect(Math.hypot(points[i].x - points[j].x, points[i].y - points[j].y)).toBeGreaterThan(20);
      }
    }
  });
});

describe('route queue', () => {
  it('animates a new call once, from caller to provider, and lets it go after the trip and linger', () => {
    const queue = new RouteQueue();
    const calls = [call({ trace_id: 'T1' })];
    const added = queue.ingest(calls, NOW);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ capability: 'experimental.echo', from: SELF.nodeId, to: 'ed25519:b', result: 'ok', ok: true, local: false });
    // The same view again (a peer update re-sent it) adds nothing.
    expect(queue.ingest(calls, NOW + 100)).toHaveLength(0);
    expect(queue.active(NOW + 100)).toHaveLength(1);
    expect(queue.nextEndMs(NOW + 100)).toBe(NOW + ROUTE_TRAVEL_MS + ROUTE_LINGER_MS);
    expect(queue.active(NOW + ROUTE_TRAVEL_MS + ROUTE_LINGER_MS)).toHaveLength(0);
    expect(queue.nextEndMs(NOW + ROUTE_TRAVEL_MS + ROUTE_LINGER_MS)).toBeNull();
  });

  it('does not animate a call that ended before the map could have shown it', () => {
    const queue = new RouteQueue();
    const old = call({ trace_id: 'OLD', ts: new Date(NOW - ROUTE_FRESH_MS - 1000).toISOString(), ms: 10 });
    expect(queue.ingest([old], NOW)).toHaveLength(0);
    // A newer call in the next view animates; the old one still does not.
    const added = queue.ingest([call({ trace_id: 'NEW' }), old], NOW + 10);
    expect(added.map((r) => r.traceId)).toEqual(['NEW']);
  });

  it('marks failed calls, calls served on the spot, and both sides of one trace', () => {
    const queue = new RouteQueue();
    const added = queue.ingest(
      [
        call({ trace_id: 'F', result: 'timeout' }),
        call({ trace_id: 'L', to_node: SELF.nodeId, is_local: true }),
        call({ trace_id: 'N', to_node: '', result: 'no_provider' }),
        call({ trace_id: 'S', direction: 'in', from_node: 'ed25519:b', to_node: SELF.nodeId })
      ],
      NOW
    );
    expect(added.map((r) => [r.traceId, r.ok, r.local])).toEqual([
      ['S', true, false],
      ['N', false, true],
      ['L', true, true],
      ['F', false, false]
    ]);
  });

  it('routes a call along the peer link, through the bridge when it is relayed', () => {
    const bridge = peer('bridge', { profile: 'bridge', path: 'relay' });
    const topology = buildTopology({ self: SELF, peers: [bridge, peer('b', { path: 'relay' })], capabilities: [], nowMs: NOW });
    const positions = new ForceLayout().update(topology.nodes.map((n) => n.id), topology.links, SELF.nodeId);
    const [route] = new RouteQueue().ingest([call({ trace_id: 'R' })], NOW);
    expect(routePoints(route, topology, positions)).toEqual([positions.get(SELF.nodeId), positions.get('ed25519:bridge'), positions.get('ed25519:b')]);
    const [toStranger] = new RouteQueue().ingest([call({ trace_id: 'X', to_node: 'ed25519:left' })], NOW);
    expect(routePoints(toStranger, topology, positions)).toBeNull();
  });
});

describe('capability matrix', () => {
  it('has a row per node and a column per capability name, with versions and state in each cell', () => {
    const peers = [peer('a'), peer('b')];
    const capabilities = [
      capability(SELF.nodeId, 'experimental.echo'),
      capability('ed25519:a', 'llm.chat', { version: '1.10' }),
      capability('ed25519:a', 'llm.chat', { version: '1.2' }),
      capability('ed25519:a', 'experimental.echo', { inFlight: 16 }),
      capability('ed25519:b', 'rag.query', { quarantined: true })
    ];
    const matrix = buildCapabilityMatrix(mapNodes(SELF, peers, capabilities), capabilities);
    expect(matrix.rows.map((r) => [r.nodeId, r.isSelf])).toEqual([
      [SELF.nodeId, true],
      ['ed25519:a', false],
      ['ed25519:b', false]
    ]);
    expect(matrix.columns).toEqual(['experimental.echo', 'llm.chat', 'rag.query']);
    expect(cellAt(matrix, SELF.nodeId, 'experimental.echo')).toMatchObject({ versions: ['1.0'], state: 'ready' });
    expect(cellAt(matrix, 'ed25519:a', 'llm.chat')).toMatchObject({ versions: ['1.2', '1.10'], state: 'ready' });
    expect(cellAt(matrix, 'ed25519:a', 'experimental.echo')).toMatchObject({ state: 'busy', inFlight: 16, maxConcurrent: 16 });
    expect(cellAt(matrix, 'ed25519:b', 'rag.query').state).toBe('quarantined');
    expect(cellAt(matrix, 'ed25519:b', 'llm.chat')).toMatchObject({ versions: [], state: 'absent' });
  });

  it('is empty of columns when nothing is offered, but still lists the nodes', () => {
    const matrix = buildCapabilityMatrix(mapNodes(SELF, [peer('a')], []), []);
    expect(matrix.columns).toEqual([]);
    expect(matrix.rows).toHaveLength(2);
  });
});

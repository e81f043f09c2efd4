/**
 * Places the Mesh map's nodes with d3-force, once per newcomer. A node keeps its place for as long as it stays on
 * the map: when peers come and go, the ones already drawn are pinned while the simulation finds room for the new
 * ones, so people's mental map of "the kitchen tablet is top left" survives. This device sits at the centre.
 * The simulation runs to rest synchronously (a few hundred ticks of a handful of nodes take a millisecond or two),
 * so positions are a function of the input: testable in Node and identical on every render.
 */
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY, type SimulationNodeDatum } from 'd3-force';

export interface Point {
  x: number;
  y: number;
}

/**
 * Layout units are SVG user units. A 360 px phone leaves about 300 px inside a card, so 320 × 260 draws close to
 * 1:1 there (labels stay legible) and scales up on wider screens.
 */
export const LAYOUT_WIDTH = 320;
export const LAYOUT_HEIGHT = 260;
/** Labels sit centred under their node: keep room for half the longest (geometry.ts LABEL_MAX_CHARS) at the edges. */
const LABEL_MARGIN_X = 62;
const MARGIN_TOP = 20;
const MARGIN_BOTTOM = 30;
/**
 * Every link starts at this device, pinned at the centre, so linked nodes settle on a ring of about this radius;
 * the repulsion spreads them round it, and a newcomer lands in the widest gap.
 */
const LINK_DISTANCE = 105;
const CHARGE_STRENGTH = -300;
/** Keeps label centres apart: a name under a node is up to about 100 units wide. */
const COLLIDE_RADIUS = 45;
/** A gentle pull to the middle, mostly for nodes without a link (known only from their capabilities). */
const PULL_TO_CENTRE = 0.02;
const SETTLE_TICKS = 300;

interface LayoutDatum extends SimulationNodeDatum {
  id: string;
}

export interface LayoutLink {
  source: string;
  target: string;
}

/** A fixed angle per node id so newcomers start spread out (not stacked) and the result is reproducible. */
function startAngle(id: string): number {
  let hash = 2166136261;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619);
  return ((hash >>> 0) / 2 ** 32) * 2 * Math.PI;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

export class ForceLayout {
  private readonly placed = new Map<string, Point>();

  constructor(
    readonly width = LAYOUT_WIDTH,
    readonly height = LAYOUT_HEIGHT
  ) {}

  /** The SVG viewBox: the layout is centred on (0, 0). */
  get viewBox(): string {
    return `${-this.width / 2} ${-this.height / 2} ${this.width} ${this.height}`;
  }

  /**
   * Positions for `nodeIds`: those placed before keep their point exactly, newcomers get one, departed ones are
   * forgotten (a node that returns is placed afresh). `centreId` (this device) is pinned at the centre.
   */
  update(nodeIds: readonly string[], links: readonly LayoutLink[], centreId: string | null): Map<string, Point> {
    const wanted = new Set(nodeIds);
    for (const id of [...this.placed.keys()]) if (!wanted.has(id)) this.placed.delete(id);
    if (nodeIds.some((id) => !this.placed.has(id))) this.placeNewcomers([...wanted], links, centreId);
    return new Map(nodeIds.map((id) => [id, { ...this.placed.get(id)! }]));
  }

  private placeNewcomers(nodeIds: string[], links: readonly LayoutLink[], centreId: string | null): void {
    const datums: LayoutDatum[] = nodeIds.map((id) => {
      const known = this.placed.get(id);
      if (known) return { id, x: known.x, y: known.y, fx: known.x, fy: known.y };
      if (id === centreId) return { id, x: 0, y: 0, fx: 0, fy: 0 };
      const angle = startAngle(id);
      return { id, x: Math.cos(angle) * LINK_DISTANCE, y: Math.sin(angle) * LINK_DISTANCE };
    });
    const present = new Set(nodeIds);
    const linkData = links.filter((l) => present.has(l.source) && present.has(l.target)).map((l) => ({ source: l.source, target: l.target }));
    const simulation = forceSimulation<LayoutDatum>(datums)
      .force('link', forceLink<LayoutDatum, { source: string | LayoutDatum; target: string | LayoutDatum }>(linkData).id((d) => d.id).distance(LINK_DISTANCE))
      .force('charge', forceManyBody<LayoutDatum>().strength(CHARGE_STRENGTH))
      .force('collide', forceCollide<LayoutDatum>(COLLIDE_RADIUS))
      .force('x', forceX<LayoutDatum>(0).strength(PULL_TO_CENTRE))
      .force('y', forceY<LayoutDatum>(0).strength(PULL_TO_CENTRE))
      .stop();
    simulation.tick(SETTLE_TICKS);
    const halfW = this.width / 2;
    const halfH = this.height / 2;
    for (const d of datums) {
      if (this.placed.has(d.id)) continue;
      this.placed.set(d.id, {
        x: Math.round(clamp(d.x ?? 0, -halfW + LABEL_MARGIN_X, halfW - LABEL_MARGIN_X)),
        y: Math.round(clamp(d.y ?? 0, -halfH + MARGIN_TOP, halfH - MARGIN_BOTTOM))
      });
    }
  }
}

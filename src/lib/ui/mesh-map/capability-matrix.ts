/**
 * The capability matrix: one row per node on the map, one column per capability name, and in each cell the
 * versions that node offers and how they are doing. Pure; the component only lays it out.
 */
import type { CapabilityRow } from '../../client/api.js';
import type { MapNode } from './topology-model.js';

/** `busy`: every slot is in use, so new calls go elsewhere or wait; `quarantined`: calls kept failing. */
export type CellState = 'ready' | 'busy' | 'quarantined' | 'absent';

export interface MatrixCell {
  nodeId: string;
  capability: string;
  /** Versions offered, lowest first; empty when absent. */
  versions: string[];
  state: CellState;
  inFlight: number;
  maxConcurrent: number;
}

export interface MatrixRow {
  nodeId: string;
  name: string;
  isSelf: boolean;
}

export interface CapabilityMatrix {
  rows: MatrixRow[];
  /** Capability names, sorted. */
  columns: string[];
  cells: Map<string, MatrixCell>;
}

export const CELL_STATE_LABEL: Readonly<Record<CellState, string>> = {
  ready: 'ready',
  busy: 'busy',
  quarantined: 'quarantined',
  absent: 'not offered'
};

/** When a node offers several versions of one name, the cell shows the worst state among them. */
const SEVERITY: Readonly<Record<CellState, number>> = { absent: 0, ready: 1, busy: 2, quarantined: 3 };

const cellKey = (nodeId: string, capability: string) => `${nodeId}\n${capability}`;

function stateOf(cap: CapabilityRow): CellState {
  if (cap.quarantined) return 'quarantined';
  return cap.maxConcurrent > 0 && cap.inFlight >= cap.maxConcurrent ? 'busy' : 'ready';
}

export function buildCapabilityMatrix(nodes: readonly MapNode[], capabilities: readonly CapabilityRow[]): CapabilityMatrix {
  const rows = nodes.map((n) => ({ nodeId: n.id, name: n.name, isSelf: n.role === 'self' }));
  const columns = [...new Set(capabilities.map((c) => c.name))].sort();
  const cells = new Map<string, MatrixCell>();
  for (const cap of capabilities) {
    const key = cellKey(cap.nodeId, cap.name);
    const cell = cells.get(key) ?? { nodeId: cap.nodeId, capability: cap.name, versions: [], state: 'absent', inFlight: 0, maxConcurrent: 0 };
    if (!cell.versions.includes(cap.version)) cell.versions.push(cap.version);
    cell.versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    const state = stateOf(cap);
    if (SEVERITY[state] > SEVERITY[cell.state]) cell.state = state;
    cell.inFlight += cap.inFlight;
    cell.maxConcurrent += cap.maxConcurrent;
    cells.set(key, cell);
  }
  return { rows, columns, cells };
}

export function cellAt(matrix: CapabilityMatrix, nodeId: string, capability: string): MatrixCell {
  return matrix.cells.get(cellKey(nodeId, capability)) ?? { nodeId, capability, versions: [], state: 'absent', inFlight: 0, maxConcurrent: 0 };
}

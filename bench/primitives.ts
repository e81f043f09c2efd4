/** Primitive benchmarks in Node: `npx tsx bench/primitives.ts`. */
import { runPrimitiveBench } from './primitives-core.js';
import { printTable } from './table.js';

const rows = await runPrimitiveBench();
printTable('Primitives in Node ' + process.version, ['what', 'engine', 'value', 'unit'], rows.map((r) => [r.what, r.engine, r.value, r.unit]));

/**
 * State memory per tracked node: feeds one day of readings at each kind's expected interval to
 * the processors (as the host applies them: dedup, kind processor, node health) for a generated
 * city of about 100,000 nodes, and prints the heap growth and the snapshot size per node.
 *
 *   npm run build && node --expose-gc dist/processors/state/measure.js [nodes]
 */
import { citySizeFor, generateCity, loadConfig, type AnyReadingRecord, type RegistryNode } from '../../core/index.js';
import { generateReading, normalState } from '../../simulators/models/index.js';
import { Deduplicator } from '../dedup.js';
import { NodeHealth } from '../health/processor.js';
import { processorsFor, snapshotNode } from '../host.js';
import { defaultKinds } from '../../core/kinds/modules.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const DAY = 86_400_000;
const nodesWanted = Number(process.argv[2] ?? 100_000);
const config = loadConfig({ LOG_LEVEL: 'silent' });
const registry = generateCity(defaultKinds(), citySizeFor(nodesWanted));
const start = Date.parse('2026-06-21T06:00:00+08:00');

/** The simulator's reading of the node (its kind module's model), numbered. */
function reading(node: RegistryNode, ts: number, i: number): Record<string, unknown> {
  return { ...generateReading(node, ts, { seed: 11, scenario: normalState(start), kinds: registry.kinds }), seq: i };
}

const kinds = processorsFor(config, registry.kinds);
const health = new NodeHealth();
const dedup = new Deduplicator();
const byKind = new Map<string, RegistryNode[]>();
for (const node of registry.all()) {
  let list = byKind.get(node.kind);
  if (!list) byKind.set(node.kind, (list = []));
  list.push(node);
}

const base = heap();
const rows: { kind: string; nodes: number; readings: number; heapBytesPerNode: number; snapshotBytesPerNode: number }[] = [];
let before = base;
let total = 0;
for (const [kind, nodes] of byKind) {
  const interval = registry.expectedIntervalS(nodes[0]!) * 1000;
  let readings = 0;
  // Time-major, as a live city sends them.
  for (let t = start, i = 0; t < start + DAY; t += interval, i++) {
    for (const node of nodes) {
      const r = reading(node, t + (readings % 1000), i);
      const record = {
        type: 'reading',
        nodeId: node.nodeId,
        kind: node.kind,
        district: node.district,
        receivedAt: r.ts,
        reading: r,
      } as unknown as AnyReadingRecord;
      if (dedup.seen(node.nodeId, r.ts as number, r.seq as number)) continue;
      kinds.get(node.kind)!.apply(record, node);
      health.apply(record, r.ts as number);
      readings++;
    }
  }
  const after = heap();
  let snapshotBytes = 0;
  for (const node of nodes) snapshotBytes += JSON.stringify(snapshotNode(kinds, health, dedup, node)).length + node.nodeId.length + 4;
  rows.push({
    kind,
    nodes: nodes.length,
    readings,
    heapBytesPerNode: Math.round((after - before) / nodes.length),
    snapshotBytesPerNode: Math.round(snapshotBytes / nodes.length),
  });
  total += readings;
  console.error(JSON.stringify(rows[rows.length - 1]));
  before = heap();
}
const all = registry.size;
const heapTotal = before - base;
const snapTotal = rows.reduce((s, r) => s + r.snapshotBytesPerNode * r.nodes, 0);
console.table(rows);
console.log(
  JSON.stringify({
    nodes: all,
    readings: total,
    heapBytesPerNode: Math.round(heapTotal / all),
    snapshotBytesPerNode: Math.round(snapTotal / all),
    heapMB: Math.round(heapTotal / 1e6),
    snapshotMB: Math.round(snapTotal / 1e6),
  }),
);

#!/usr/bin/env node
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPipeline } from '../../bin/pipeline.js';
import { DISTRICTS, loadConfig } from '../../core/index.js';

/**
 * How long a bulk import of `--nodes` new lamps (CSV, one gateway per road of 1,000) takes on the
 * embedded pipeline running the generated city, and how /health answers meanwhile (polled every
 * 100 ms). Prints one JSON line. `npm run build && node dist/simulators/bench/registry-import.js --nodes 500000`
 */
export function newRoadsCsv(nodes: number, perRoad = 1000): string {
  const lines = ['nodeId,kind,district,lat,lon,gatewayId,road,roadClass,circuit,ratedW'];
  for (let road = 0; road * perRoad < nodes; road++) {
    const district = DISTRICTS[road % DISTRICTS.length]!;
    const gateway = `GW-BULK-${road}`;
    lines.push(`,gateway,${district.name},${district.lat},${district.lon},${gateway},,,,`);
    for (let i = road * perRoad; i < Math.min(nodes, (road + 1) * perRoad); i++)
      lines.push(
        `SL-BULK-${i},streetlight,${district.name},${(district.lat + (i % perRoad) * 1e-5).toFixed(5)},${district.lon},${gateway},Bulk Road ${road},branch,BULK-C${Math.floor(i / 50)},100`,
      );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { nodes: { type: 'string', default: '500000' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(
      'Usage: node dist/simulators/bench/registry-import.js [--nodes N]\n' +
        '  Imports N new lamps (CSV) into a running embedded pipeline and prints the time and /health latency as JSON.\n',
    );
    return;
  }
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`--nodes: a positive whole number of lamps, not "${values.nodes}"`);
  const state = await mkdtemp(join(tmpdir(), 'city-brain-import-'));
  const pipeline = await startPipeline({
    config: loadConfig({ ...process.env, MQTT_PORT: '0', HTTP_PORT: '0', MQTT_AUTH: 'off', LOG_LEVEL: 'warn', STATE_DIR: state }),
  });
  const api = `http://127.0.0.1:${pipeline.httpPort}`;
  const csv = newRoadsCsv(nodes);
  const latencies: number[] = [];
  let failed = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const t = performance.now();
      const ok = await fetch(`${api}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) latencies.push(performance.now() - t);
      else failed++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const started = performance.now();
  const res = await fetch(`${api}/api/v1/registry/import`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  const importMs = performance.now() - started;
  const answer = (await res.json()) as Record<string, unknown>;
  polling = false;
  await poller;
  latencies.sort((a, b) => a - b);
  const report = {
    nodes,
    bytes: Buffer.byteLength(csv),
    status: res.status,
    created: answer.created,
    registrySize: pipeline.registry.size,
    importMs: Math.round(importMs),
    health: {
      polls: latencies.length,
      failed,
      p50Ms: Math.round(latencies[Math.floor(latencies.length / 2)] ?? 0),
      p99Ms: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
      maxMs: Math.round(latencies[latencies.length - 1] ?? 0),
    },
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await pipeline.close();
  await rm(state, { recursive: true, force: true });
}

if (process.argv[1]?.endsWith('registry-import.js')) await main();

import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  MemoryTransport,
  NodeRegistry,
  PipelineMetrics,
  TOPICS,
  topicSpecs,
  type RegistryNode,
  type RejectedRecord,
  type StreamRecord,
  type TelemetryRecord,
} from '../core/index.js';
import { at, config } from '../test/fixtures.js';
import { ProcessorHost } from './host.js';
import { PartialStore } from './partial-delta.js';
import { FileSnapshotStore, type SnapshotStore } from './state/index.js';
import { defaultKinds } from '../core/kinds/modules.js';

const station: RegistryNode = {
  nodeId: 'NS-LATE',
  kind: 'noise',
  district: 'Lixia',
  lat: 36.6,
  lon: 117,
  station: 'Daming Lake',
  zoneClass: '1',
};
const registry = new NodeRegistry([station], [], defaultKinds());
const cfg = config({ ALLOWED_LATENESS_S: '600', EVAL_INTERVAL_MS: '60000', STATE_SNAPSHOT_INTERVAL_MS: '3600000' });

/** The reference stream, in log order (ALLOWED_LATENESS_S = 600: the watermark is the newest ts minus 10 minutes). */
const STREAM: { local: string; laeq: number; seq: number; note: string }[] = [
  { local: '2026-06-21T10:00:00', laeq: 50, seq: 1, note: 'applied' },
  { local: '2026-06-21T10:02:00', laeq: 50, seq: 3, note: 'applied' },
  { local: '2026-06-21T10:01:00', laeq: 60, seq: 2, note: 'out of order, inside the lateness: applied' },
  { local: '2026-06-21T10:02:00', laeq: 50, seq: 3, note: 'duplicate (same seq and ts): ignored' },
  { local: '2026-06-21T10:03:00', laeq: 90, seq: 3, note: 'duplicate (same seq, re-stamped): ignored' },
  { local: '2026-06-21T10:20:00', laeq: 50, seq: 5, note: 'applied; watermark now 10:10' },
  { local: '2026-06-21T10:05:00', laeq: 80, seq: 4, note: 'late (10:05 < 10:10): dead-lettered' },
  { local: '2026-06-21T10:15:00', laeq: 60, seq: 6, note: 'late arrival inside the lateness: applied, hour re-emitted' },
];
// Applied minutes 10:00 50, 10:01 60, 10:02 50, 10:15 60, 10:20 50 dB:
// Leq(10:00-11:00) = 10*log10((3*10^5 + 2*10^6) / 5) = 10*log10(460000) = 56.63 dB; coverage 5/60.
const LEQ = 56.6;

function records(): { key: string; value: Buffer }[] {
  return STREAM.map(({ local, laeq, seq }) => {
    const ts = at(local);
    const record: TelemetryRecord = {
      type: 'reading',
      nodeId: station.nodeId,
      kind: 'noise',
      district: 'Lixia',
      receivedAt: ts + 1000,
      reading: { ts, seq, laeq, periodS: 60 },
    };
    return { key: station.nodeId, value: Buffer.from(JSON.stringify(record)) };
  });
}

async function setup() {
  const transport = new MemoryTransport({ retryDelayMs: 10 });
  await transport.ensureTopics(topicSpecs(defaultKinds()));
  const producer = await transport.producer();
  // A group that reads nothing keeps every record retained, so a later host can replay them all.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const holder = await transport.consume({ groupId: 'holder', topics: [TOPICS.raw, TOPICS.dlq], onBatch: () => gate });
  const dlq: StreamRecord[] = [];
  const dlqReader = await transport.consume({
    groupId: 'dlq-reader',
    topics: [TOPICS.dlq],
    onBatch: async (b) => void dlq.push(...b.records),
  });
  const host = (stateStore: SnapshotStore | null) => {
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const h = new ProcessorHost({
      registry,
      config: cfg,
      transport,
      producer,
      metrics,
      logger: pino({ level: 'silent' }),
      rawPartitions: 12,
      role: 'processor',
      stateStore,
    });
    return { h, metrics };
  };
  const close = async () => {
    release();
    await holder.stop();
    await dlqReader.stop();
    await transport.close();
  };
  return { transport, producer, dlq, host, close };
}

const counter = async (metrics: PipelineMetrics, which: 'processed' | 'rejected', label: string) =>
  (await metrics[which].get()).values.filter((v) => Object.values(v.labels).includes(label)).reduce((s, v) => s + v.value, 0);

const waitFor = async (check: () => boolean | Promise<boolean>) => {
  const until = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await sleep(10);
  }
};

const hourOf = (h: ProcessorHost) =>
  (h.node(station.nodeId)!.derived as { currentHour: { hourStart: number; leq: number; coverage: number } }).currentHour;

describe('processor host: event time, late and duplicate readings, snapshots', () => {
  it('applies out-of-order readings inside the lateness, ignores duplicates, dead-letters late ones once', async () => {
    const env = await setup();
    const stateDir = mkdtempSync(join(tmpdir(), 'city-brain-host-'));
    const first = env.host(new FileSnapshotStore(stateDir));
    await first.h.start();
    await env.producer.send(TOPICS.raw, records());
    await waitFor(
      async () => (await counter(first.metrics, 'processed', 'noise')) + (await counter(first.metrics, 'rejected', 'late')) === 6,
    );
    expect(await counter(first.metrics, 'processed', 'noise')).toBe(5);
    expect(await counter(first.metrics, 'rejected', 'late')).toBe(1);
    expect(hourOf(first.h)).toMatchObject({ hourStart: at('2026-06-21T10:00:00'), leq: LEQ, coverage: 0.083 });

    await waitFor(() => env.dlq.length === 1);
    const dead = JSON.parse(env.dlq[0]!.value.toString()) as RejectedRecord;
    expect(env.dlq[0]!.key).toBe(station.nodeId);
    expect(dead).toMatchObject({
      reason: 'late',
      nodeId: station.nodeId,
      topic: `city/Lixia/noise/${station.nodeId}/telemetry`,
      receivedAt: at('2026-06-21T10:05:00') + 1000,
      truncated: false,
    });
    expect(JSON.parse(Buffer.from(dead.payload, 'base64').toString())).toEqual({
      ts: at('2026-06-21T10:05:00'),
      seq: 4,
      laeq: 80,
      periodS: 60,
    });
    await first.h.stop(); // final snapshot of its partitions

    // A host without snapshots rebuilds from the first record: same state, no dead letter written again.
    const rebuilt = env.host(null);
    await rebuilt.h.start();
    await waitFor(() => hourOf(rebuilt.h).leq === LEQ);
    // The marker: one more late reading, after the replayed ones in the same partition. Once it is
    // dead-lettered, the replay is behind us: the replayed late reading was not dead-lettered or counted again.
    const marker: TelemetryRecord = {
      type: 'reading',
      nodeId: station.nodeId,
      kind: 'noise',
      district: 'Lixia',
      receivedAt: at('2026-06-21T10:20:30'),
      reading: { ts: at('2026-06-21T10:04:00'), seq: 8, laeq: 70, periodS: 60 },
    };
    await env.producer.send(TOPICS.raw, [{ key: station.nodeId, value: Buffer.from(JSON.stringify(marker)) }]);
    await waitFor(() => env.dlq.length >= 2);
    expect(
      env.dlq.map(
        (r) =>
          (JSON.parse(Buffer.from((JSON.parse(r.value.toString()) as RejectedRecord).payload, 'base64').toString()) as { seq: number }).seq,
      ),
    ).toEqual([4, 8]);
    expect(hourOf(rebuilt.h)).toEqual(hourOf(first.h));
    expect(await counter(rebuilt.metrics, 'rejected', 'late')).toBe(1); // the marker only
    expect(await counter(rebuilt.metrics, 'processed', 'noise')).toBe(0);
    await rebuilt.h.stop();

    // A host with the snapshot: restored, nothing replayed; the watermark came back too (10:09 is late).
    const restored = env.host(new FileSnapshotStore(stateDir));
    await restored.h.start();
    expect(hourOf(restored.h)).toEqual(hourOf(first.h));
    const more: TelemetryRecord = {
      type: 'reading',
      nodeId: station.nodeId,
      kind: 'noise',
      district: 'Lixia',
      receivedAt: at('2026-06-21T10:21:00'),
      reading: { ts: at('2026-06-21T10:09:00'), seq: 7, laeq: 99, periodS: 60 },
    };
    await env.producer.send(TOPICS.raw, [{ key: station.nodeId, value: Buffer.from(JSON.stringify(more)) }]);
    await waitFor(async () => (await counter(restored.metrics, 'rejected', 'late')) === 1);
    expect(hourOf(restored.h)).toEqual(hourOf(first.h));
    await waitFor(() => env.dlq.length === 3);
    await restored.h.stop();
    await env.close();
  });
});

describe('processor host: partials soon after readings', () => {
  it('publishes the partial with a new reading without waiting for the beat (EVAL_INTERVAL_MS 60 s)', async () => {
    const env = await setup();
    const { h } = env.host(null);
    // Read as the aggregator reads them: whole, then as changes.
    const store = new PartialStore();
    const reader = await env.transport.consume({
      groupId: 'partials-reader',
      topics: [TOPICS.partials],
      fromBeginning: true,
      onBatch: async (b) => b.records.forEach((r) => store.take(JSON.parse(r.value.toString()))),
    });
    await h.start(); // publishes every owned partition's partial once
    await waitFor(() => [...store.values()].length >= 12);
    type Noise = { stations: { currentHour: { coverage: number } }[] };
    const covered = () =>
      [...store.values()].some((p) => ((p.kinds?.noise as Noise | undefined)?.stations[0]?.currentHour.coverage ?? 0) > 0);
    expect(covered()).toBe(false);
    await env.producer.send(TOPICS.raw, records().slice(0, 1));
    // The beat is a minute away: only the partials asked for by the reading can show it.
    await waitFor(covered);
    await h.stop();
    await reader.stop();
    await env.close();
  });
});

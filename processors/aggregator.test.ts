import { pino } from 'pino';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryTransport,
  parseJson,
  PipelineMetrics,
  TOPICS,
  topicSpecs,
  type Alert,
  type KeyedList,
  type Producer,
} from '../core/index.js';
import { MetricsSection, type MetricsRecordValue } from './aggregation/metrics-section.js';
import { config } from '../test/fixtures.js';
import { Aggregator } from './aggregator.js';
import type { PartitionPartial } from './partial.js';
import { readToEnd } from './state/index.js';
import { battery, NOW, partial, registry } from '../test/aggregator-inputs.js';
import { defaultKinds } from '../core/kinds/modules.js';

describe('aggregator', () => {
  let aggregator: Aggregator | undefined;
  afterEach(async () => {
    await aggregator?.stop();
    aggregator = undefined;
  });

  /** `alertsFile`: the embedded mode's alert file. */
  async function start({ alertsFile = null }: { alertsFile?: string | null } = {}) {
    const transport = new MemoryTransport();
    await transport.ensureTopics(topicSpecs(defaultKinds()));
    const producer = await transport.producer();
    // What holdMetrics() sets: the aggregator's metrics.* sends wait for it (a slow log).
    let hold: Promise<void> | null = null;
    const aggregatorProducer: Producer = {
      send: async (topic, messages) => {
        if (hold && topic.startsWith('metrics.')) await hold;
        return producer.send(topic, messages);
      },
    };
    /** Holds the aggregator's metrics.* writes until the returned function is called. */
    const holdMetrics = () => {
      let release = () => {};
      hold = new Promise<void>((resolve) => (release = resolve));
      return release;
    };
    aggregator = new Aggregator({
      registry,
      // Every evaluation's changes on the metrics topics at once (the intervals are metrics-publisher.test.ts's).
      config: config({
        ALERT_HOLD_S: '0',
        ALERT_RESOLVE_HOLD_S: '0',
        EVAL_INTERVAL_MS: '60000',
        METRICS_SUMMARY_INTERVAL_S: '0',
        METRICS_ITEM_INTERVAL_S: '0',
      }),
      transport,
      producer: aggregatorProducer,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
      alertsFile,
    });
    await aggregator.start();
    const send = (...partials: PartitionPartial[]) =>
      producer.send(
        TOPICS.partials,
        partials.map((p) => ({ key: p.source, value: Buffer.from(JSON.stringify(p)) })),
      );
    const read = async (topic: string) => {
      const values: unknown[] = [];
      await readToEnd(transport, topic, (r) => values.push(parseJson(r.value)));
      return values;
    };
    return { transport, send, read, holdMetrics };
  }

  it('merges the latest partial of each partition: a partition evaluated again replaces its share, never adds to it', async () => {
    const { send } = await start();
    await send(
      partial('telemetry.raw:0', NOW - 2000, 3, 1),
      partial('telemetry.raw:1', NOW - 1000, 2, 2),
      partial('telemetry.raw:0', NOW, 4, 0),
    );
    // Merged at once when partials arrive: wait for the evaluation that saw all three.
    await expect.poll(() => (aggregator!.ready() ? aggregator!.kpis().evaluatedAt : null)).toBe(NOW);
    const kpis = aggregator!.kpis();
    expect(kpis.parking).toMatchObject({ spaces: 10, occupied: 6, free: 2, unknown: 2 }); // 4 + 2 occupied, 0 + 2 free
    expect(kpis.parking.occupancy).toBeCloseTo(6 / 8, 12);
  });

  it("takes the city's time from partials that follow readings, not from an instance that has seen none (its wall clock)", async () => {
    const { send } = await start();
    const idle: PartitionPartial = { ...partial('telemetry.raw:1', NOW + 12 * 3_600_000, 0, 0), eventTime: false };
    await send({ ...partial('telemetry.raw:0', NOW, 5, 5), eventTime: true }, idle);
    await expect.poll(() => (aggregator!.ready() ? aggregator!.kpis().evaluatedAt : null)).toBe(NOW);
    await aggregator!.tick();
    expect(aggregator!.kpis().evaluatedAt).toBe(NOW);
  });

  it("writes every kind's KPI section to its metrics.<kind> topic, and node health to metrics.nodes", async () => {
    const { send, transport } = await start();
    await send(partial('telemetry.raw:0', NOW, 5, 5));
    await expect.poll(() => (aggregator!.ready() ? aggregator!.kpis().evaluatedAt : null)).toBe(NOW);
    await aggregator!.tick();
    const sections = aggregator!.kpis() as unknown as Record<string, unknown>;
    // Each topic holds its own section of /api/v1/kpis (the section of `streetlight` is `lighting`, a
    // profile kind's is under its own name): a summary keyed `city` and its keyed lists entry by entry.
    const keys = new Map<string, string[]>();
    const rebuilt = async (topic: string, lists: readonly KeyedList[]) => {
      const section = new MetricsSection(lists);
      const seen: string[] = [];
      let ts = 0;
      await readToEnd(transport, topic, (r) => {
        seen.push(r.key!);
        const value = parseJson(r.value) as MetricsRecordValue;
        if (section.apply(r.key, value)) ts = value.ts as number;
      });
      keys.set(topic, seen);
      // A section that did not change since an earlier evaluation is not written again: its time is that one's.
      if (topic === TOPICS.metrics('parking')) expect(ts).toBe(NOW);
      return section.section();
    };
    for (const module of defaultKinds().modules())
      expect(await rebuilt(TOPICS.metrics(module.name), module.metricsLists), module.name).toEqual(sections[module.section]);
    expect(sections.waterlogging).toMatchObject({ title: 'Road waterlogging' });
    expect(await rebuilt(TOPICS.nodeMetrics, [])).toEqual(sections.nodes);
    // The lot of the inputs has a record of its own, keyed by its id.
    expect(keys.get(TOPICS.metrics('parking'))).toEqual(expect.arrayContaining(['city', 'lot:L1']));
  });

  it('takes a node condition through the alert lifecycle to the alerts topic: fires, then resolves when no partial carries it', async () => {
    const { send, read } = await start();
    await send(partial('telemetry.raw:0', NOW, 5, 5, [battery]));
    await expect.poll(() => aggregator!.alerts('firing').map((a) => a.alertname)).toEqual(['NodeBatteryLow']);
    const fired = aggregator!.alerts('firing')[0]!;
    expect(fired.labels).toMatchObject({ kind: 'parking', district: 'Lixia', node: 'P-3', severity: 'minor' });
    expect(fired).toMatchObject({ lat: 36.6, lon: 117 }); // placed on the map where its node is
    await send(partial('telemetry.raw:0', NOW + 60_000, 5, 5));
    await expect.poll(() => aggregator!.alerts('resolved').map((a) => a.id)).toEqual([fired.id]);
    const changes = (await read(TOPICS.alerts)) as Alert[];
    expect(changes.filter((a) => a.id === fired.id).map((a) => a.state)).toEqual(['firing', 'resolved']);
  });

  it('hands the KPIs to the live stream without waiting for the metrics topics: a slow log delays the writes, not what the console shows', async () => {
    const { send, holdMetrics } = await start();
    const release = holdMetrics();
    const occupied: number[] = [];
    aggregator!.subscribe((event) => {
      if (event.type === 'kpis') occupied.push((event.kpis.parking as { occupied: number }).occupied);
    });
    try {
      await send(partial('telemetry.raw:0', NOW, 7, 2));
      await expect.poll(() => occupied.at(-1)).toBe(7);
    } finally {
      release(); // before afterEach's stop, which waits for the evaluation's writes
    }
  });

  it('rewrites the alert file when the lifecycle changes, not when only the values of firing alerts move', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aggregator-alerts-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'alerts.json');
    const { send } = await start({ alertsFile: file });
    await send(partial('telemetry.raw:0', NOW, 5, 5, [battery]));
    await expect.poll(async () => (await readFile(file, 'utf8').catch(() => '')).includes('NodeBatteryLow')).toBe(true);
    const fired = await readFile(file, 'utf8');
    await send(partial('telemetry.raw:0', NOW + 1_000, 5, 5, [{ ...battery, value: 2.5 }]));
    await expect.poll(() => aggregator!.alerts('firing')[0]?.value).toBe(2.5);
    await aggregator!.tick();
    expect(await readFile(file, 'utf8')).toBe(fired);
    await aggregator!.acknowledge(aggregator!.alerts('firing')[0]!.id, { by: 'crew-7', role: 'crew' });
    await expect
      .poll(async () => JSON.parse(await readFile(file, 'utf8')) as { active: Alert[] })
      .toMatchObject({
        active: [{ state: 'acknowledged', acknowledgedBy: 'crew-7', value: 2.5 }],
      });
  });
});

import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport, parseJson, PipelineMetrics, TOPICS, topicSpecs, type Alert } from '../core/index.js';
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

  async function start() {
    const transport = new MemoryTransport();
    await transport.ensureTopics(topicSpecs(defaultKinds()));
    const producer = await transport.producer();
    aggregator = new Aggregator({
      registry,
      config: config({ ALERT_HOLD_S: '0', ALERT_RESOLVE_HOLD_S: '0', EVAL_INTERVAL_MS: '60000' }),
      transport,
      producer,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
      alertsFile: null,
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
    return { transport, send, read };
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
    const { send, read } = await start();
    await send(partial('telemetry.raw:0', NOW, 5, 5));
    await expect.poll(() => (aggregator!.ready() ? aggregator!.kpis().evaluatedAt : null)).toBe(NOW);
    await aggregator!.tick();
    const sections = aggregator!.kpis() as unknown as Record<string, unknown>;
    const published = new Map<string, unknown>();
    for (const kind of defaultKinds().names()) {
      const records = (await read(TOPICS.metrics(kind))) as { ts: number; kpis: unknown }[];
      expect(records.length, TOPICS.metrics(kind)).toBeGreaterThan(0);
      published.set(kind, records.at(-1)!.kpis);
      expect(records.at(-1)!.ts).toBe(NOW);
    }
    // Each topic holds its own section of /api/v1/kpis (the section of `streetlight` is `lighting`).
    expect(published.get('parking')).toEqual(sections.parking);
    expect(published.get('streetlight')).toEqual(sections.lighting);
    expect(published.get('groundwater')).toEqual(sections.groundwater);
    expect(published.get('noise')).toEqual(sections.noise);
    // A profile kind's section is under its own name.
    expect(published.get('waterlogging')).toEqual(sections.waterlogging);
    expect(sections.waterlogging).toMatchObject({ title: 'Road waterlogging' });
    expect(((await read(TOPICS.nodeMetrics)) as { kpis: unknown }[]).at(-1)!.kpis).toEqual(sections.nodes);
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
});

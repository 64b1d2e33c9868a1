import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GROUPS,
  MemoryTransport,
  parseJson,
  PipelineMetrics,
  TOPICS,
  topicSpecs,
  type AlertCondition,
  type Producer,
  type StreamRecord,
} from '../../core/index.js';
import { defaultKinds } from '../../core/kinds/modules.js';
import { config } from '../../test/fixtures.js';
import { battery, NOW, partial as partialOf, registry } from '../../test/aggregator-inputs.js';
import type { PartitionPartial } from '../partial.js';
import { readToEnd } from '../state/index.js';
import { ElectedAggregation } from './elected.js';
import { EPOCH_HEADER, INSTANCE_HEADER } from '../aggregator.js';

/** Raw partition 0's partial: `occupied` of the lot's 10 spaces. */
const partial = (at: number, occupied: number, conditions: AlertCondition[] = []): PartitionPartial =>
  partialOf('telemetry.raw:0', at, occupied, 10 - occupied, conditions);

/** The in-process log keeping what it was given, as Kafka does (it drops what every group has read): a takeover reads the alerts back. */
class RetainingTransport extends MemoryTransport {
  override trim(): void {}
}

describe('elected aggregation (several api instances)', () => {
  const running: ElectedAggregation[] = [];
  afterEach(async () => {
    for (const instance of running.splice(0)) await instance.stop();
  });

  async function setup(holds = { ALERT_HOLD_S: '0', ALERT_RESOLVE_HOLD_S: '0' }) {
    const transport = new RetainingTransport();
    await transport.ensureTopics(topicSpecs(defaultKinds()));
    const producer: Producer = await transport.producer();
    const instance = async (name: string, replyTimeoutMs = 10_000) => {
      const metrics = new PipelineMetrics({ defaultMetrics: false });
      const elected = new ElectedAggregation({
        registry,
        // Every evaluation's changes on the metrics topics at once: the other instance serves each evaluation.
        config: config({ ...holds, EVAL_INTERVAL_MS: '60000', METRICS_SUMMARY_INTERVAL_S: '0', METRICS_ITEM_INTERVAL_S: '0' }),
        transport,
        producer,
        metrics,
        logger: pino({ level: 'silent' }),
        sessionTimeoutMs: 10_000,
        checkIntervalMs: 20,
        replyTimeoutMs,
        instance: name,
      });
      await elected.start();
      running.push(elected);
      return { elected, metrics };
    };
    const send = (p: PartitionPartial) => producer.send(TOPICS.partials, [{ key: p.source, value: Buffer.from(JSON.stringify(p)) }]);
    const records = async (topic: string) => {
      const out: StreamRecord[] = [];
      await readToEnd(transport, topic, (r) => out.push(r));
      return out;
    };
    return { instance, send, records, transport };
  }

  it('one instance aggregates, the other serves what it publishes and passes acknowledgements on; the other takes over with the alerts kept', async () => {
    const { instance, send, records } = await setup();
    const a = await instance('A');
    const b = await instance('B');
    await expect.poll(() => a.elected.aggregating()).toBe(true);
    expect(b.elected.aggregating()).toBe(false);
    expect(await a.metrics.registry.getSingleMetricAsString('citybrain_aggregator_leader')).toMatch(/ 1$/m);
    expect(await b.metrics.registry.getSingleMetricAsString('citybrain_aggregator_leader')).toMatch(/ 0$/m);

    await send(partial(NOW, 4, [battery]));
    await expect.poll(() => a.elected.alerts('firing').length).toBe(1);
    const fired = a.elected.alerts('firing')[0]!;
    // B serves the KPIs and the alert A published.
    await expect.poll(() => (b.elected.ready() ? b.elected.kpis().evaluatedAt : null)).toBe(NOW);
    expect(b.elected.kpis().parking).toEqual(a.elected.kpis().parking);
    await expect.poll(() => b.elected.alerts('firing').map((x) => x.id)).toEqual([fired.id]);

    // Acknowledged on B: A makes the change and answers; both show it.
    const acked = await b.elected.acknowledge(fired.id, { by: 'Wang Lei', role: 'crew' }, 'crew on site');
    expect(acked).toMatchObject({ ok: true, alert: { id: fired.id, state: 'acknowledged', acknowledgedBy: 'Wang Lei' } });
    expect(a.elected.alerts('acknowledged').map((x) => x.id)).toEqual([fired.id]);
    expect(b.elected.alerts('acknowledged')[0]!.notes).toEqual([expect.objectContaining({ action: 'ack', text: 'crew on site' })]);
    expect(await b.elected.note('0123456789abcdef', { by: 'x', role: 'crew' }, 'hello')).toEqual({ ok: false, error: 'not-found' });

    // Only A wrote KPIs and alerts.
    const writers = async () =>
      new Set(
        [...(await records(TOPICS.nodeMetrics)), ...(await records(TOPICS.alerts))].map(
          (r) => `${r.headers[INSTANCE_HEADER]}@${r.headers[EPOCH_HEADER]}`,
        ),
      );
    const before = await writers();
    expect([...before].map((w) => w.split('@')[0])).toEqual(['A']);

    // A goes: B takes over the alert as it was (id, start, fire time, acknowledgement, note).
    await a.elected.stop();
    running.splice(running.indexOf(a.elected), 1);
    await expect.poll(() => b.elected.aggregating()).toBe(true);
    const taken = b.elected.alerts('acknowledged');
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({
      id: fired.id,
      startsAt: fired.startsAt,
      firedAt: fired.firedAt,
      acknowledgedBy: 'Wang Lei',
      notes: [expect.objectContaining({ text: 'crew on site' })],
    });
    // New input changes B's KPIs; the condition gone resolves the same alert.
    await send(partial(NOW + 60_000, 7));
    await expect.poll(() => (b.elected.ready() ? b.elected.kpis().evaluatedAt : null)).toBe(NOW + 60_000);
    expect(b.elected.kpis().parking).toMatchObject({ occupied: 7 });
    await expect.poll(() => b.elected.alerts('resolved').map((x) => x.id)).toEqual([fired.id]);
    const alerts = (await records(TOPICS.alerts)).map((r) => parseJson(r.value) as { id: string; state: string; startsAt: number });
    expect(alerts.map((x) => [x.id, x.state])).toEqual([
      [fired.id, 'firing'],
      [fired.id, 'acknowledged'],
      [fired.id, 'resolved'],
    ]);
    expect(new Set(alerts.map((x) => x.startsAt))).toEqual(new Set([fired.startsAt]));
    // B's records are of a later term than A's.
    const after = [...(await writers())].filter((w) => !before.has(w));
    expect(after.map((w) => w.split('@')[0])).toEqual(['B']);
    expect(Number(after[0]!.split('@')[1])).toBeGreaterThan(Number([...before][0]!.split('@')[1]));
  });

  it('an acknowledgement nobody answers in time is `unavailable`, and is not made later by the instance that takes over', async () => {
    const { instance, send, transport } = await setup();
    const a = await instance('A', 200);
    await send(partial(NOW, 4, [battery]));
    await expect.poll(() => a.elected.alerts('firing').length).toBe(1);
    const fired = a.elected.alerts('firing')[0]!;
    // A member of the group that answers nothing (nor lets go of a request: it never commits) joins, then B.
    const silent = await transport.consume({
      groupId: GROUPS.aggregator,
      topics: [TOPICS.aggregatorControl],
      sticky: true,
      onBatch: () => Promise.reject(new Error('not answering')),
    });
    const b = await instance('B', 200);
    await expect.poll(() => b.elected.alerts('firing').map((x) => x.id)).toEqual([fired.id]);
    // A goes: the seat passes to the silent member (it joined first), so B's acknowledgement gets no answer.
    await a.elected.stop();
    running.splice(running.indexOf(a.elected), 1);
    expect(b.elected.aggregating()).toBe(false);
    expect(await b.elected.acknowledge(fired.id, { by: 'Wang Lei', role: 'crew' })).toEqual({ ok: false, error: 'unavailable' });
    // The silent member goes: B takes over and finds the request it sent, expired: dropped, not made.
    await silent.stop();
    await expect.poll(() => b.elected.aggregating()).toBe(true);
    // Requests are handled in order: once C's is answered, B has passed over Wang Lei's.
    const c = await instance('C');
    const answer = await c.elected.acknowledge(fired.id, { by: 'Li Na', role: 'crew' });
    expect(answer).toMatchObject({ ok: true, alert: { id: fired.id, state: 'acknowledged', acknowledgedBy: 'Li Na' } });
    expect(b.elected.alerts('acknowledged')[0]!.notes?.map((n) => n.by)).toEqual(['Li Na']);
  });

  it('a takeover keeps the hold times: a pending condition fires when it would have, a firing one resolves when it would have', async () => {
    const { instance, send, records } = await setup({ ALERT_HOLD_S: '60', ALERT_RESOLVE_HOLD_S: '60' });
    const [a, b, c] = [await instance('A'), await instance('B'), await instance('C')];
    await expect.poll(() => a.elected.aggregating()).toBe(true);
    const holdsOnLog = async () =>
      (await records(TOPICS.aggregatorHolds))
        .map((r) => parseJson(r.value) as { pending: [string, number][]; missingSince: [string, number][] })
        .at(-1);
    const handOver = async (from: typeof a, to: typeof a) => {
      await from.elected.stop();
      running.splice(running.indexOf(from.elected), 1);
      await expect.poll(() => to.elected.aggregating()).toBe(true);
    };

    // The battery is low from NOW: pending on A, written to the log; A goes, B takes over.
    await send(partial(NOW, 4, [battery]));
    await expect.poll(async () => (await holdsOnLog())?.pending.map(([, since]) => since)).toEqual([NOW]);
    // Still low at NOW + 30 s (the time B's first evaluation sees: from there alone it would start the hold).
    await send(partial(NOW + 30_000, 4, [battery]));
    await expect.poll(() => (a.elected.ready() ? a.elected.kpis().evaluatedAt : null)).toBe(NOW + 30_000);
    await handOver(a, b);
    // 60 s after NOW it has held for the hold time: B fires it from NOW.
    await send(partial(NOW + 60_000, 4, [battery]));
    await expect.poll(() => b.elected.alerts('firing').length).toBe(1);
    const fired = b.elected.alerts('firing')[0]!;
    expect([fired.startsAt, fired.firedAt]).toEqual([NOW, NOW + 60_000]);

    // The battery is fine from NOW + 90 s (and at NOW + 120 s): B writes that down; B goes, C takes over; at NOW + 150 s C resolves it.
    await send(partial(NOW + 90_000, 4));
    await expect.poll(async () => (await holdsOnLog())?.missingSince).toEqual([[fired.id, NOW + 90_000]]);
    await send(partial(NOW + 120_000, 4));
    await expect.poll(() => (b.elected.ready() ? b.elected.kpis().evaluatedAt : null)).toBe(NOW + 120_000);
    await handOver(b, c);
    expect(c.elected.alerts('firing').map((x) => x.id)).toEqual([fired.id]);
    await send(partial(NOW + 150_000, 4));
    await expect.poll(() => c.elected.alerts('resolved').map((x) => [x.id, x.resolvedAt])).toEqual([[fired.id, NOW + 150_000]]);
  });
});

import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport, TOPICS, topicSpecs, type Alert } from '../../core/index.js';
import { defaultKinds } from '../../core/kinds/modules.js';
import { EPOCH_HEADER, INSTANCE_HEADER } from '../aggregator.js';
import { PublishedView } from './published-view.js';

const kinds = defaultKinds();
const alert = (updatedAt: number, state: Alert['state'], summary: string): Alert => ({
  id: '0123456789abcdef',
  alertname: 'NodeBatteryLow',
  severity: 'minor',
  labels: { alertname: 'NodeBatteryLow', severity: 'minor', kind: 'parking', district: 'Lixia', node: 'P-3' },
  summary,
  state,
  startsAt: 1000,
  firedAt: 1000,
  updatedAt,
});

describe('published view (an api instance that does not aggregate)', () => {
  let view: PublishedView | undefined;
  afterEach(async () => {
    await view?.stop();
    view = undefined;
  });

  async function setup() {
    const transport = new MemoryTransport();
    await transport.ensureTopics(topicSpecs(kinds));
    const producer = await transport.producer();
    view = new PublishedView({ transport, kinds, logger: pino({ level: 'silent' }) });
    await view.start();
    const headers = (epoch: number) => ({ [EPOCH_HEADER]: String(epoch), [INSTANCE_HEADER]: `host-${epoch}` });
    /** One evaluation: every kind's section and node health, each saying which evaluation it is. */
    const evaluation = async (epoch: number, ts: number) => {
      for (const topic of [...kinds.names().map((k) => TOPICS.metrics(k)), TOPICS.nodeMetrics])
        await producer.send(topic, [
          { key: 'city', value: Buffer.from(JSON.stringify({ ts, kpis: { epoch, ts } })), headers: headers(epoch) },
        ]);
    };
    const publishAlert = (epoch: number, a: Alert) =>
      producer.send(TOPICS.alerts, [{ key: a.id, value: Buffer.from(JSON.stringify(a)), headers: headers(epoch) }]);
    return { evaluation, publishAlert };
  }

  it('composes /api/v1/kpis from the metrics topics, each section under its name, once every section has come', async () => {
    const { evaluation } = await setup();
    expect(view!.ready()).toBe(false);
    await evaluation(1, 5000);
    await expect.poll(() => view!.ready()).toBe(true);
    const kpis = view!.kpis() as Record<string, unknown>;
    expect(kpis.evaluatedAt).toBe(5000);
    expect(kpis.lighting).toEqual({ epoch: 1, ts: 5000 }); // metrics.streetlight's section is `lighting`
    expect(kpis.nodes).toEqual({ epoch: 1, ts: 5000 });
    // A section with a keyed list and no entry yet: the list is empty.
    expect(kpis.waterlogging).toEqual({ epoch: 1, ts: 5000, list: [] });
  });

  it('rebuilds a section from its summary and its keyed entries, read from the beginning: the latest of each, in id order, removed ones gone', async () => {
    const transport = new MemoryTransport();
    await transport.ensureTopics(topicSpecs(kinds));
    const producer = await transport.producer();
    const put = (topic: string, key: string, value: unknown) => producer.send(topic, [{ key, value: Buffer.from(JSON.stringify(value)) }]);
    const lot = (lotId: string, occupied: number) => ({ lotId, occupied });
    // Written before the view starts (a compacted topic keeps these): an instance starting late still gets the whole list.
    for (const topic of [
      ...kinds
        .names()
        .filter((k) => k !== 'parking')
        .map((k) => TOPICS.metrics(k)),
      TOPICS.nodeMetrics,
    ])
      await put(topic, 'city', { ts: 4000, kpis: { n: 1 } });
    await put(TOPICS.metrics('parking'), 'lot:L2', { ts: 1000, list: 'list', item: lot('L2', 1) });
    await put(TOPICS.metrics('parking'), 'city', { ts: 1000, kpis: { spaces: 9 } });
    await put(TOPICS.metrics('parking'), 'lot:L1', { ts: 1000, list: 'list', item: lot('L1', 4) });
    await put(TOPICS.metrics('parking'), 'lot:L3', { ts: 1000, list: 'list', item: lot('L3', 0) });
    await put(TOPICS.metrics('parking'), 'lot:L2', { ts: 3000, list: 'list', item: lot('L2', 2) });
    await put(TOPICS.metrics('parking'), 'lot:L3', { ts: 4000, list: 'list', removed: true });
    view = new PublishedView({ transport, kinds, logger: pino({ level: 'silent' }) });
    await view.start();
    await expect
      .poll(() => view!.ready() && (view!.kpis() as Record<string, unknown>).parking)
      .toEqual({ spaces: 9, list: [lot('L1', 4), lot('L2', 2)] });
    // Later records change what they name only.
    await put(TOPICS.metrics('parking'), 'lot:L0', { ts: 5000, list: 'list', item: lot('L0', 7) });
    await put(TOPICS.metrics('parking'), 'city', { ts: 5000, kpis: { spaces: 10 } });
    await expect.poll(() => view!.kpis().evaluatedAt).toBe(5000);
    expect((view.kpis() as Record<string, unknown>).parking).toEqual({ spaces: 10, list: [lot('L0', 7), lot('L1', 4), lot('L2', 2)] });
    // A removal after the list was composed (each list is kept composed until an entry of it changes).
    await put(TOPICS.metrics('parking'), 'lot:L1', { ts: 6000, list: 'list', removed: true });
    await put(TOPICS.metrics('parking'), 'city', { ts: 6000, kpis: { spaces: 10 } });
    await expect.poll(() => view!.kpis().evaluatedAt).toBe(6000);
    expect((view.kpis() as Record<string, unknown>).parking).toEqual({ spaces: 10, list: [lot('L0', 7), lot('L2', 2)] });
  });

  it("drops a deposed instance's records: an older term's record after a newer one's on the same topic", async () => {
    const { evaluation, publishAlert } = await setup();
    await evaluation(1, 5000);
    await publishAlert(1, alert(5000, 'firing', 'old term'));
    // The new term begins; then the deposed instance, still running, publishes once more.
    await evaluation(2, 6000);
    await publishAlert(2, alert(6000, 'acknowledged', 'new term'));
    await evaluation(1, 7000);
    await publishAlert(1, alert(7000, 'resolved', 'deposed'));
    await evaluation(2, 6500);
    await expect.poll(() => view!.kpis().evaluatedAt).toBe(6500);
    expect((view!.kpis() as Record<string, unknown>).parking).toEqual({ epoch: 2, ts: 6500, list: [] });
    expect(view!.alerts().map((a) => [a.state, a.summary])).toEqual([['acknowledged', 'new term']]);
    expect(view!.epoch()).toBe(2);
    expect(view!.dropped()).toBe(kinds.names().length + 2);
  });
});

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
    expect(kpis.waterlogging).toEqual({ epoch: 1, ts: 5000 });
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
    expect((view!.kpis() as Record<string, unknown>).parking).toEqual({ epoch: 2, ts: 6500 });
    expect(view!.alerts().map((a) => [a.state, a.summary])).toEqual([['acknowledged', 'new term']]);
    expect(view!.epoch()).toBe(2);
    expect(view!.dropped()).toBe(kinds.names().length + 2);
  });
});

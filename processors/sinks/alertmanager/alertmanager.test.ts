/**
 * The notifier against a real Alertmanager (Debian's prometheus-alertmanager, a local process with the
 * generated routing and this test's webhook receiver): the circuit-dark scenario as the aggregator
 * writes it to the `alerts` topic, inhibition, grouped notifications, resolution, and an outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryTransport, PipelineMetrics, TOPICS, type Alert } from '../../../core/index.js';
import { renderAlertmanagerConfig } from '../../../dashboards/alertmanager.js';
import { alertmanagerFixture, ALERTMANAGER_FIXTURE_TIMEOUT_MS, releaseAlertmanagers, type AlertmanagerFixture } from '../../../infra/fixtures/alertmanager.js';
import { freePort } from '../../../infra/process.js';
import { startAlertmanagerNotifier, type AlertmanagerNotifier } from './notifier.js';
import { makeAlert, recorder, resolved, until, type Received } from './testing.js';

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  endsAt: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[]; silencedBy: string[] };
  receivers: Array<{ name: string }>;
}

const logger = pino({ level: 'silent' });
let webhook: Awaited<ReturnType<typeof recorder>>;
const config = () => renderAlertmanagerConfig({ webhookUrl: (receiver) => `${webhook.url}/${receiver}`, groupWait: '1s', groupInterval: '1s', repeatInterval: '1h', resolveTimeout: '1m' });

beforeAll(async () => {
  webhook = await recorder();
}, ALERTMANAGER_FIXTURE_TIMEOUT_MS);
afterAll(async () => {
  await releaseAlertmanagers();
  await webhook?.close();
});

async function alertsIn(am: { url: string }): Promise<GettableAlert[]> {
  const response = await fetch(`${am.url}/api/v2/alerts`);
  expect(response.status).toBe(200);
  return (await response.json()) as GettableAlert[];
}

async function pipeline(url: string) {
  const transport = new MemoryTransport();
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const notifier: AlertmanagerNotifier = await startAlertmanagerNotifier({ transport, metrics, logger, url, resendIntervalMs: 5_000, retryMinMs: 100, retryMaxMs: 500 });
  const producer = await transport.producer();
  const publish = (...alerts: Alert[]) => producer.send(TOPICS.alerts, alerts.map((a) => ({ key: a.id, value: Buffer.from(JSON.stringify(a)), timestamp: a.updatedAt })));
  const stop = async () => {
    await notifier.stop();
    await transport.close();
  };
  return { notifier, metrics, publish, stop };
}

const notifications = (receiver: string, status: 'firing' | 'resolved', alertname: string): Received[] =>
  webhook.received.filter((r) => r.path === `/${receiver}` && r.body?.status === status && r.body?.groupLabels?.alertname === alertname);

describe('Alertmanager notifier (real Alertmanager)', () => {
  it(
    'circuit dark: one CircuitDark with the contract labels, lamps of the circuit inhibited, grouped webhook notification, resolved on restore',
    async () => {
      const am: AlertmanagerFixture = await alertmanagerFixture({ config: config() });
      const p = await pipeline(am.url);
      try {
        const now = Date.now();
        const dark = makeAlert('CircuitDark', 'major', { kind: 'streetlight', district: 'Lixia', circuit: 'C1' }, now, '3 of 3 lamps of circuit C1 on Jingshi Road are dark');
        const lamps = ['SL-LX-0001', 'SL-LX-0002', 'SL-LX-0003'].map((node) => makeAlert('StreetlightOut', 'minor', { kind: 'streetlight', district: 'Lixia', node, circuit: 'C1' }, now));
        const other = makeAlert('StreetlightOut', 'minor', { kind: 'streetlight', district: 'Shizhong', node: 'SL-SZ-0042', circuit: 'C2' }, now);
        await p.publish(dark, ...lamps, other);

        const shown = await until('five alerts in Alertmanager', async () => {
          const all = await alertsIn(am);
          return all.length === 5 && all.every((a) => a.status.state !== 'unprocessed') ? all : null;
        });
        const circuitDark = shown.filter((a) => a.labels.alertname === 'CircuitDark');
        expect(circuitDark).toHaveLength(1);
        expect(circuitDark[0]!.labels).toEqual({ alertname: 'CircuitDark', severity: 'major', kind: 'streetlight', district: 'Lixia', circuit: 'C1' });
        expect(circuitDark[0]!.annotations).toEqual({ summary: dark.summary, id: dark.id });
        expect(circuitDark[0]!.status.state).toBe('active');
        expect(circuitDark[0]!.receivers.map((r) => r.name)).toEqual(['crew-streetlight-lixia']);
        const c1 = shown.filter((a) => a.labels.alertname === 'StreetlightOut' && a.labels.circuit === 'C1');
        expect(c1).toHaveLength(3);
        for (const lamp of c1) {
          expect(lamp.status.state).toBe('suppressed');
          expect(lamp.status.inhibitedBy).toHaveLength(1);
        }
        const c2 = shown.find((a) => a.labels.circuit === 'C2')!;
        expect(c2.status).toMatchObject({ state: 'active', inhibitedBy: [] });
        expect(c2.receivers.map((r) => r.name)).toEqual(['crew-streetlight-shizhong']);

        // The crews' webhooks: one grouped notification for the circuit, none for its inhibited lamps.
        const [note] = await until('CircuitDark notification', () => notifications('crew-streetlight-lixia', 'firing', 'CircuitDark').length > 0 && notifications('crew-streetlight-lixia', 'firing', 'CircuitDark'));
        expect(note!.body.groupLabels).toEqual({ alertname: 'CircuitDark', district: 'Lixia', kind: 'streetlight', circuit: 'C1' });
        expect(note!.body.alerts).toHaveLength(1);
        expect(note!.body.alerts[0].labels).toMatchObject({ alertname: 'CircuitDark', circuit: 'C1', severity: 'major' });
        await until('C2 lamp notification', () => notifications('crew-streetlight-shizhong', 'firing', 'StreetlightOut').length > 0);
        expect(webhook.received.filter((r) => r.body?.alerts?.some((a: { labels: Record<string, string> }) => a.labels.alertname === 'StreetlightOut' && a.labels.circuit === 'C1'))).toEqual([]);

        // Power restored: the aggregator resolves the circuit and its lamps.
        const at = Date.now();
        await p.publish(resolved(dark, at), ...lamps.map((l) => resolved(l, at)));
        await until('C1 alerts gone from /api/v2/alerts', async () => {
          const all = await alertsIn(am);
          return all.length === 1 && all[0]!.labels.circuit === 'C2';
        });
        const [done] = await until('resolved notification', () => notifications('crew-streetlight-lixia', 'resolved', 'CircuitDark').length > 0 && notifications('crew-streetlight-lixia', 'resolved', 'CircuitDark'));
        expect(done!.body.alerts[0]).toMatchObject({ status: 'resolved', labels: { alertname: 'CircuitDark', circuit: 'C1' } });
        // Restoring the circuit never un-inhibits its lamps into a notification (they resolved together).
        await new Promise((r) => setTimeout(r, 2_500));
        expect(webhook.received.filter((r) => r.body?.alerts?.some((a: { labels: Record<string, string> }) => a.labels.alertname === 'StreetlightOut' && a.labels.circuit === 'C1'))).toEqual([]);
        expect(p.notifier.pending()).toBe(0);
      } finally {
        await p.stop();
        await am.release();
      }
    },
    90_000,
  );

  it(
    'Alertmanager down, then up: the notifier retries and the alert arrives',
    async () => {
      const port = await freePort();
      const p = await pipeline(`http://127.0.0.1:${port}`);
      try {
        const alert = makeAlert('CircuitDark', 'major', { kind: 'streetlight', district: 'Tianqiao', circuit: 'C9' }, Date.now());
        await p.publish(alert);
        await until('failed attempts counted', async () => (await p.metrics.notifierErrors.get()).values.reduce((n, v) => n + v.value, 0) >= 2);
        expect(p.notifier.pending()).toBe(1);
        const am = await alertmanagerFixture({ config: config(), port });
        const [shown] = await until('the alert in Alertmanager', async () => {
          const all = await alertsIn(am);
          return all.length === 1 && all;
        });
        expect(shown!.labels).toMatchObject({ alertname: 'CircuitDark', circuit: 'C9', district: 'Tianqiao' });
        expect(shown!.status.state).toBe('active');
        await until('notification to the Tianqiao crew', () => notifications('crew-streetlight-tianqiao', 'firing', 'CircuitDark').length > 0);
        expect((await p.metrics.notifierSent.get()).values.find((v) => v.labels.state === 'firing')?.value).toBeGreaterThanOrEqual(1);
      } finally {
        await p.stop();
      }
    },
    60_000,
  );
});

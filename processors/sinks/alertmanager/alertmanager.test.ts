/**
 * The notifier against a real Alertmanager (Debian's prometheus-alertmanager, a local process with the
 * generated routing and this test's webhook receiver): the circuit-dark scenario as the aggregator
 * writes it to the `alerts` topic, inhibition, grouped notifications, resolution, and an outage.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryTransport, PipelineMetrics, TOPICS, type Alert } from '../../../core/index.js';
import { renderAlertmanagerConfig } from '../../../dashboards/alertmanager.js';
import {
  alertmanagerFixture,
  ALERTMANAGER_FIXTURE_TIMEOUT_MS,
  releaseAlertmanagers,
  type AlertmanagerFixture,
} from '../../../infra/fixtures/alertmanager.js';
import { freePort } from '../../../infra/process.js';
import { startAlertmanagerNotifier, type AlertmanagerNotifier } from './notifier.js';
import { testNow } from '../../../test/clock.js';
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
const config = () =>
  renderAlertmanagerConfig({
    webhookUrl: (receiver) => `${webhook.url}/${receiver}`,
    groupWait: '1s',
    groupInterval: '1s',
    repeatInterval: '1h',
    resolveTimeout: '1m',
  });

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

async function pipeline(url: string, resendIntervalMs = 5_000) {
  const transport = new MemoryTransport();
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const notifier: AlertmanagerNotifier = await startAlertmanagerNotifier({
    transport,
    metrics,
    logger,
    url,
    resendIntervalMs,
    retryMinMs: 100,
    retryMaxMs: 500,
  });
  const producer = await transport.producer();
  const publish = (...alerts: Alert[]) =>
    producer.send(
      TOPICS.alerts,
      alerts.map((a) => ({ key: a.id, value: Buffer.from(JSON.stringify(a)) })),
    );
  const stop = async () => {
    await notifier.stop();
    await transport.close();
  };
  return { notifier, metrics, publish, stop };
}

/**
 * A TCP relay in front of Alertmanager on a port of its own: away() refuses the notifier's
 * connections (and cuts the open ones) while Alertmanager itself keeps the alerts it holds, so what
 * it shows afterwards can only come from what the notifier delivered after back().
 */
async function relay(target: { port: number }) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const back = async () => {
    server = createServer((client) => {
      const upstream = connect(target.port, '127.0.0.1');
      for (const [s, other] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        sockets.add(s);
        // Either end closing (Alertmanager halted: connection refused) ends the other at once.
        s.on('close', () => {
          sockets.delete(s);
          other.destroy();
        });
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  const away = async () => {
    const closing = server;
    server = null;
    if (!closing) return;
    const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await back();
  return { url: `http://127.0.0.1:${port}`, away, back };
}

const notifications = (receiver: string, status: 'firing' | 'resolved', alertname: string): Received[] =>
  webhook.received.filter((r) => r.path === `/${receiver}` && r.body?.status === status && r.body?.groupLabels?.alertname === alertname);

describe('Alertmanager notifier (real Alertmanager)', () => {
  it('circuit dark: one CircuitDark with the contract labels, lamps of the circuit inhibited, grouped webhook notification, resolved on restore', async () => {
    const am: AlertmanagerFixture = await alertmanagerFixture({ config: config() });
    const p = await pipeline(am.url);
    try {
      const now = testNow();
      const dark = makeAlert(
        'CircuitDark',
        'major',
        { kind: 'streetlight', district: 'Lixia', circuit: 'C1' },
        now,
        '3 of 3 lamps of circuit C1 on Jingshi Road are dark',
      );
      const lamps = ['SL-LX-0001', 'SL-LX-0002', 'SL-LX-0003'].map((node) =>
        makeAlert('StreetlightOut', 'minor', { kind: 'streetlight', district: 'Lixia', node, circuit: 'C1' }, now),
      );
      const other = makeAlert(
        'StreetlightOut',
        'minor',
        { kind: 'streetlight', district: 'Shizhong', node: 'SL-SZ-0042', circuit: 'C2' },
        now,
      );
      // The circuit first, then its lamps: Alertmanager's inhibitor learns of a source alert
      // asynchronously, and lamps posted in the same batch could be notified before it has (the
      // pipeline itself never raises StreetlightOut for the lamps of a dark circuit).
      await p.publish(dark);
      await until('CircuitDark active in Alertmanager', async () =>
        (await alertsIn(am)).some((a) => a.labels.alertname === 'CircuitDark' && a.status.state === 'active'),
      );
      await p.publish(...lamps, other);

      // Alertmanager's inhibitor learns of the circuit alert asynchronously from the API that lists it:
      // wait until the circuit's lamps show as suppressed.
      const shown = await until("five alerts in Alertmanager, the circuit's lamps suppressed", async () => {
        const all = await alertsIn(am);
        const settled = all.length === 5 && all.every((a) => a.status.state !== 'unprocessed');
        return settled &&
          all
            .filter((a) => a.labels.circuit === 'C1' && a.labels.alertname === 'StreetlightOut')
            .every((a) => a.status.state === 'suppressed')
          ? all
          : null;
      });
      const circuitDark = shown.filter((a) => a.labels.alertname === 'CircuitDark');
      expect(circuitDark).toHaveLength(1);
      expect(circuitDark[0]!.labels).toEqual({
        alertname: 'CircuitDark',
        severity: 'major',
        kind: 'streetlight',
        district: 'Lixia',
        circuit: 'C1',
      });
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
      const [note] = await until(
        'CircuitDark notification',
        () =>
          notifications('crew-streetlight-lixia', 'firing', 'CircuitDark').length > 0 &&
          notifications('crew-streetlight-lixia', 'firing', 'CircuitDark'),
      );
      expect(note!.body.groupLabels).toEqual({ alertname: 'CircuitDark', district: 'Lixia', kind: 'streetlight', circuit: 'C1' });
      expect(note!.body.alerts).toHaveLength(1);
      expect(note!.body.alerts[0].labels).toMatchObject({ alertname: 'CircuitDark', circuit: 'C1', severity: 'major' });
      await until('C2 lamp notification', () => notifications('crew-streetlight-shizhong', 'firing', 'StreetlightOut').length > 0);
      expect(
        webhook.received.filter((r) =>
          r.body?.alerts?.some(
            (a: { labels: Record<string, string> }) => a.labels.alertname === 'StreetlightOut' && a.labels.circuit === 'C1',
          ),
        ),
      ).toEqual([]);

      // Power restored: the aggregator resolves the circuit and its lamps.
      const at = testNow();
      await p.publish(resolved(dark, at), ...lamps.map((l) => resolved(l, at)));
      await until('C1 alerts gone from /api/v2/alerts', async () => {
        const all = await alertsIn(am);
        return all.length === 1 && all[0]!.labels.circuit === 'C2';
      });
      const [done] = await until(
        'resolved notification',
        () =>
          notifications('crew-streetlight-lixia', 'resolved', 'CircuitDark').length > 0 &&
          notifications('crew-streetlight-lixia', 'resolved', 'CircuitDark'),
      );
      expect(done!.body.alerts[0]).toMatchObject({ status: 'resolved', labels: { alertname: 'CircuitDark', circuit: 'C1' } });
      // Restoring the circuit never un-inhibits its lamps into a notification (they resolved together).
      // The marker: a fourth lamp of C1 goes out afterwards, in the very group the three lamps would
      // notify in. Once its notification arrives, that group has flushed with the circuit restored:
      // an un-inhibited lamp still active would be in it, or in an earlier notification.
      const c1Lamp = (a: { labels: Record<string, string> }) => a.labels.alertname === 'StreetlightOut' && a.labels.circuit === 'C1';
      const marker = makeAlert(
        'StreetlightOut',
        'minor',
        { kind: 'streetlight', district: 'Lixia', node: 'SL-LX-0004', circuit: 'C1' },
        testNow(),
      );
      await p.publish(marker);
      const [markerNote] = await until('notification of the marker lamp SL-LX-0004', () => {
        const notes = webhook.received.filter(
          (r) =>
            r.body?.status === 'firing' && r.body?.alerts?.some((a: { labels: Record<string, string> }) => a.labels.node === 'SL-LX-0004'),
        );
        return notes.length > 0 && notes;
      });
      // Firing alerts only: Alertmanager lists the group's recently resolved lamps in the marker's
      // notification too (as resolved), which is no un-inhibition.
      const firing = (a: { status: string }) => a.status === 'firing';
      expect(markerNote!.body.alerts.filter(firing).map((a: { labels: Record<string, string> }) => a.labels.node)).toEqual(['SL-LX-0004']);
      expect(
        webhook.received.filter((r) =>
          r.body?.alerts?.some(
            (a: { status: string; labels: Record<string, string> }) => firing(a) && c1Lamp(a) && a.labels.node !== 'SL-LX-0004',
          ),
        ),
      ).toEqual([]);
      await until('marker delivered', () => p.notifier.pending() === 0);
    } finally {
      await p.stop();
      await am.release();
    }
  }, 90_000);

  it("profile kinds' alerts (RoadWaterlogging, ManholeCoverOpen) reach their kind's district crew through the shipped routing", async () => {
    const am = await alertmanagerFixture({ config: config() });
    const p = await pipeline(am.url);
    try {
      const at = testNow();
      const alert = (alertname: string, kind: string, district: string, node: string): Alert => ({
        id: `${alertname}-${node}`,
        alertname,
        severity: 'critical',
        labels: { alertname, severity: 'critical', kind, district, node },
        summary: `${alertname} at ${node}`,
        state: 'firing',
        startsAt: at - 60_000,
        firedAt: at,
        updatedAt: at,
      });
      await p.publish(alert('RoadWaterlogging', 'waterlogging', 'Lixia', 'WL-1'), alert('ManholeCoverOpen', 'manhole', 'Huaiyin', 'MH-1'));
      const shown = await until('both alerts in Alertmanager', async () => {
        const all = await alertsIn(am);
        return all.length === 2 && all;
      });
      const receivers = Object.fromEntries(shown.map((a) => [a.labels.alertname, a.receivers.map((r) => r.name)]));
      expect(receivers).toEqual({ RoadWaterlogging: ['crew-waterlogging-lixia'], ManholeCoverOpen: ['crew-manhole-huaiyin'] });
      await until(
        'notification to the Lixia waterlogging crew',
        () => notifications('crew-waterlogging-lixia', 'firing', 'RoadWaterlogging').length > 0,
      );
      await until(
        'notification to the Huaiyin manhole crew',
        () => notifications('crew-manhole-huaiyin', 'firing', 'ManholeCoverOpen').length > 0,
      );
    } finally {
      await p.stop();
    }
  }, 60_000);

  it('Alertmanager down, then up: the notifier retries and the alert arrives', async () => {
    const port = await freePort();
    const p = await pipeline(`http://127.0.0.1:${port}`);
    try {
      const alert = makeAlert('CircuitDark', 'major', { kind: 'streetlight', district: 'Tianqiao', circuit: 'C9' }, testNow());
      await p.publish(alert);
      await until(
        'failed attempts counted',
        async () => (await p.metrics.notifierErrors.get()).values.reduce((n, v) => n + v.value, 0) >= 2,
      );
      expect(p.notifier.pending()).toBe(1);
      const am = await alertmanagerFixture({ config: config(), port });
      const [shown] = await until('the alert in Alertmanager', async () => {
        const all = await alertsIn(am);
        return all.length === 1 && all;
      });
      expect(shown!.labels).toMatchObject({ alertname: 'CircuitDark', circuit: 'C9', district: 'Tianqiao' });
      expect(shown!.status.state).toBe('active');
      await until(
        'notification to the Tianqiao crew',
        () => notifications('crew-streetlight-tianqiao', 'firing', 'CircuitDark').length > 0,
      );
      expect((await p.metrics.notifierSent.get()).values.find((v) => v.labels.state === 'firing')?.value).toBeGreaterThanOrEqual(1);
    } finally {
      await p.stop();
    }
  }, 60_000);

  it('Alertmanager away after holding alerts, then back: it shows the latest state of each alert (resolved gone, changed updated, new firing); after a crash too', async () => {
    const am: AlertmanagerFixture = await alertmanagerFixture({ config: config() });
    const link = await relay(am);
    // Active alerts are posted with endsAt = now + 4 x 15 s: none times out by itself within this
    // test, so an alert Alertmanager stops showing was resolved by what the notifier delivered.
    const p = await pipeline(link.url, 15_000);
    try {
      const errors = async () => (await p.metrics.notifierErrors.get()).values.reduce((n, v) => n + v.value, 0);
      const byId = (all: GettableAlert[]) => new Map(all.map((a) => [a.annotations.id, a]));
      const t0 = testNow();
      const dark = makeAlert('CircuitDark', 'major', { kind: 'streetlight', district: 'Lixia', circuit: 'C7' }, t0, 'circuit C7 dark');
      const noise = makeAlert(
        'NoiseOverLimit',
        'minor',
        { kind: 'noise', district: 'Shizhong', station: 'S1' },
        t0,
        'Leq 72 dB over the 55 dB limit',
      );
      const lamp = makeAlert(
        'StreetlightOut',
        'minor',
        { kind: 'streetlight', district: 'Tianqiao', node: 'SL-TQ-0001', circuit: 'C3' },
        t0,
        'lamp SL-TQ-0001 dark',
      );
      await p.publish(dark, noise, lamp);
      await until('three alerts held by Alertmanager', async () => {
        const shown = byId(await alertsIn(am));
        return shown.size === 3 && [dark, noise, lamp].every((a) => shown.get(a.id)?.status.state === 'active');
      });
      await until(
        'the Lixia crew told of CircuitDark C7',
        () => notifications('crew-streetlight-lixia', 'firing', 'CircuitDark').length > 0,
      );

      // Away: the notifier cannot reach Alertmanager, which keeps holding the three alerts.
      await link.away();
      const errorsBefore = await errors();
      const t1 = testNow();
      const noise2 = { ...noise, summary: 'Leq 75 dB over the 55 dB limit', updatedAt: t1 };
      const parking = makeAlert('ParkingLotFull', 'info', { kind: 'parking', district: 'Lixia', lot: 'P7' }, t1, 'lot P7 full');
      await p.publish(resolved(dark, t1), noise2, parking);
      await until('failed attempts counted while away', async () => (await errors()) >= errorsBefore + 2);
      expect(p.notifier.pending()).toBe(3);
      // Still the old states in Alertmanager: nothing reached it while away.
      const during = byId(await alertsIn(am));
      expect([...during.keys()].sort()).toEqual([dark.id, noise.id, lamp.id].sort());
      expect(during.get(noise.id)!.annotations.summary).toBe(noise.summary);

      await link.back();
      await until('the latest state of each alert in Alertmanager after it is back', async () => {
        const shown = byId(await alertsIn(am));
        return (
          shown.size === 3 &&
          !shown.has(dark.id) &&
          shown.get(noise.id)?.annotations.summary === noise2.summary &&
          shown.has(parking.id) &&
          shown.has(lamp.id) &&
          p.notifier.pending() === 0
        );
      });
      const after = byId(await alertsIn(am));
      expect(after.has(dark.id)).toBe(false); // resolved: Alertmanager no longer lists it
      expect(after.get(noise.id)).toMatchObject({ annotations: { summary: noise2.summary, id: noise.id }, status: { state: 'active' } });
      expect(after.get(parking.id)).toMatchObject({ labels: { alertname: 'ParkingLotFull', lot: 'P7' }, status: { state: 'active' } });
      expect(after.get(lamp.id)).toMatchObject({ annotations: { summary: lamp.summary }, status: { state: 'active' } });
      // The crew is told the circuit is back.
      await until('the Lixia crew told CircuitDark C7 resolved', () =>
        notifications('crew-streetlight-lixia', 'resolved', 'CircuitDark').some((n) =>
          n.body.alerts.some((a: { labels: Record<string, string> }) => a.labels.circuit === 'C7'),
        ),
      );

      // A crash: the Alertmanager process ends (its alerts go with it) while states change again,
      // then a new one starts on the same port. The changes come by the retry; the alert that did
      // not change comes back by the periodic re-send.
      await am.halt();
      const errorsHalted = await errors();
      const t2 = testNow();
      const noise3 = { ...noise2, summary: 'Leq 78 dB over the 55 dB limit', updatedAt: t2 };
      const well = makeAlert(
        'GroundwaterBelowLine',
        'major',
        { kind: 'groundwater', district: 'Licheng', well: 'W3' },
        t2,
        'well W3 below the red line',
      );
      await p.publish(noise3, resolved(parking, t2), well);
      await until('failed attempts counted while halted', async () => (await errors()) >= errorsHalted + 2);
      await am.resume();
      await until(
        'the latest states in the restarted Alertmanager (the unchanged lamp by the re-send)',
        async () => {
          const shown = byId(await alertsIn(am));
          return (
            shown.size === 3 && shown.get(noise.id)?.annotations.summary === noise3.summary && shown.has(well.id) && shown.has(lamp.id)
          );
        },
        60_000,
      );
      const final = byId(await alertsIn(am));
      expect([...final.keys()].sort()).toEqual([noise.id, well.id, lamp.id].sort());
      expect(final.get(noise.id)!.annotations.summary).toBe(noise3.summary);
      expect(final.get(well.id)!.status.state).toBe('active');
    } finally {
      await p.stop();
      await link.away();
      await am.release();
    }
  }, 120_000);
});

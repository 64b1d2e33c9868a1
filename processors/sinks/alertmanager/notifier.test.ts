/** The notifier against a recording HTTP server standing in for Alertmanager (payload, resend, retry, invalid alerts). */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryTransport, PipelineMetrics, TOPICS, type Alert } from '../../../core/index.js';
import { freePort } from '../../../infra/process.js';
import { startAlertmanagerNotifier, toPostableAlert, type AlertmanagerNotifier } from './notifier.js';
import { testNow } from '../../../test/clock.js';
import { makeAlert, recorder, resolved, until } from './testing.js';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(url: string, resendIntervalMs = 60_000) {
  const transport = new MemoryTransport();
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const notifier: AlertmanagerNotifier = await startAlertmanagerNotifier({
    transport,
    metrics,
    logger,
    url,
    resendIntervalMs,
    retryMinMs: 50,
    retryMaxMs: 200,
  });
  cleanups.push(() => notifier.stop().then(() => transport.close()));
  const producer = await transport.producer();
  const publish = (...alerts: Alert[]) =>
    producer.send(
      TOPICS.alerts,
      alerts.map((a) => ({ key: a.id, value: Buffer.from(JSON.stringify(a)) })),
    );
  const count = async (c: 'notifierSent' | 'notifierErrors') => (await metrics[c].get()).values.reduce((n, v) => n + v.value, 0);
  return { notifier, publish, count };
}

describe('Alertmanager notifier (recording server)', () => {
  it('maps an alert to a postable alert: labels, annotations, startsAt, endsAt', () => {
    const now = Date.UTC(2026, 0, 1, 20, 0, 0);
    const a = makeAlert('CircuitDark', 'major', { kind: 'streetlight', district: 'Lixia', circuit: 'C1' }, now - 1000);
    expect(toPostableAlert(a, now, 60_000)).toEqual({
      labels: { kind: 'streetlight', district: 'Lixia', circuit: 'C1', alertname: 'CircuitDark', severity: 'major' },
      annotations: { summary: a.summary, id: a.id },
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: new Date(now + 240_000).toISOString(),
    });
    expect(toPostableAlert(resolved(a, now - 500), now, 60_000).endsAt).toBe(new Date(now - 500).toISOString());
    // A resolution stamped in the future (simulated time) must not keep the alert active in Alertmanager.
    expect(toPostableAlert(resolved(a, now + 3_600_000), now, 60_000).endsAt).toBe(new Date(now).toISOString());
  });

  it('posts changes, re-sends active alerts every resendInterval, and forgets delivered resolutions', async () => {
    const am = await recorder();
    cleanups.push(am.close);
    const { publish, count, notifier } = await setup(am.url, 300);
    const a = makeAlert('NodeOffline', 'minor', { kind: 'noise', district: 'Jiyang', node: 'NS-1' }, testNow());
    await publish(a);
    const first = await until('first post', () => am.received[0]);
    expect(first.path).toBe('/api/v2/alerts');
    expect(first.body).toEqual([
      expect.objectContaining({
        labels: expect.objectContaining({ alertname: 'NodeOffline', node: 'NS-1' }),
        annotations: { summary: a.summary, id: a.id },
      }),
    ]);
    await until('two re-sends', () => am.received.length >= 3);
    const ends = am.received.map((r) => Date.parse(r.body[0].endsAt));
    expect(ends[2]!).toBeGreaterThan(ends[0]!);
    await publish(resolved(a, testNow()));
    const resolution = (await until('resolution', () => am.received.findIndex((r) => Date.parse(r.body[0].endsAt) <= Date.now()) + 1)) - 1;
    // The marker: another alert, published after the resolution was delivered. Two re-sends of it
    // prove that two resend ticks have passed since; a resolved NS-1 still re-sent would be in them.
    const marker = makeAlert('NodeOffline', 'minor', { kind: 'noise', district: 'Jiyang', node: 'NS-2' }, testNow());
    await publish(marker);
    const ofMarker = () =>
      am.received.slice(resolution + 1).filter((r) => r.body.some((x: { annotations: { id: string } }) => x.annotations.id === marker.id));
    await until('the marker posted and re-sent twice', () => ofMarker().length >= 3);
    const after = am.received.slice(resolution + 1).flatMap((r) => r.body as Array<{ annotations: { id: string } }>);
    expect(after.filter((x) => x.annotations.id === a.id)).toEqual([]); // resolved and delivered: no more re-sends
    // A re-send of the marker may be on its way at any moment: wait for a moment with nothing in
    // flight, when every alert sent is one the server received.
    await until(
      'nothing pending, every alert sent received',
      async () => notifier.pending() === 0 && (await count('notifierSent')) === am.received.flatMap((r) => r.body).length,
    );
  });

  it('retries while Alertmanager is away and delivers the latest state of every alert', async () => {
    const port = await freePort();
    const { publish, count, notifier } = await setup(`http://127.0.0.1:${port}`);
    const a = makeAlert('CircuitDark', 'major', { kind: 'streetlight', district: 'Lixia', circuit: 'C5' }, testNow());
    const b = makeAlert('ParkingLotFull', 'info', { kind: 'parking', district: 'Lixia', lot: 'P1' }, testNow());
    await publish(a, b);
    await until('errors counted', async () => (await count('notifierErrors')) >= 2);
    await publish(resolved(b, testNow()));
    expect(notifier.pending()).toBe(2);
    const am = await recorder();
    cleanups.push(am.close);
    // Not the same port (recorder picks its own): restart the notifier's target by pointing a server there.
    const { createServer } = await import('node:http');
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on(
        'end',
        () =>
          void fetch(`${am.url}${req.url}`, {
            method: 'POST',
            body: Buffer.concat(chunks),
            headers: { 'content-type': 'application/json' },
          }).then((r) => res.writeHead(r.status).end()),
      );
    });
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => proxy.close(() => r())));
    await until('delivery after the outage', () => notifier.pending() === 0);
    const sent = am.received.flatMap((r) => r.body as Array<{ labels: Record<string, string>; endsAt: string }>);
    expect(sent.find((s) => s.labels.alertname === 'CircuitDark')).toBeDefined();
    const lot = sent.filter((s) => s.labels.lot === 'P1');
    expect(lot).toHaveLength(1); // only the latest state, the resolution
    expect(Date.parse(lot[0]!.endsAt)).toBeLessThanOrEqual(Date.now());
  });

  it('drops only the alert Alertmanager refuses as invalid', async () => {
    const am = await recorder();
    cleanups.push(am.close);
    am.status.code = 400;
    const { publish, count, notifier } = await setup(am.url);
    await publish(makeAlert('NoiseOverLimit', 'minor', { kind: 'noise', district: 'Lixia', station: 'S1' }, testNow()));
    await until('rejected', async () => (await count('notifierErrors')) >= 1);
    await until('nothing pending', () => notifier.pending() === 0);
    am.status.code = 200;
    await publish(makeAlert('NoiseOverLimit', 'minor', { kind: 'noise', district: 'Lixia', station: 'S2' }, testNow()));
    await until('next alert delivered', async () => (await count('notifierSent')) === 1);
  });
});

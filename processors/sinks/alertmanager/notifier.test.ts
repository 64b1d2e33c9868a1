/** The notifier against a recording HTTP server standing in for Alertmanager (payload, resend, retry, invalid alerts). */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryTransport, PipelineMetrics, TOPICS, type Alert } from '../../../core/index.js';
import { freePort } from '../../../infra/process.js';
import { startAlertmanagerNotifier, toPostableAlert, type AlertmanagerNotifier } from './notifier.js';
import { makeAlert, recorder, resolved, until } from './testing.js';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(url: string, resendIntervalMs = 60_000) {
  const transport = new MemoryTransport();
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const notifier: AlertmanagerNotifier = await startAlertmanagerNotifier({ transport, metrics, logger, url, resendIntervalMs, retryMinMs: 50, retryMaxMs: 200 });
  cleanups.push(() => notifier.stop().then(() => transport.close()));
  const producer = await transport.producer();
  const publish = (...alerts: Alert[]) => producer.send(TOPICS.alerts, alerts.map((a) => ({ key: a.id, value: Buffer.from(JSON.stringify(a)), timestamp: a.updatedAt })));
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
    const a = makeAlert('NodeOffline', 'minor', { kind: 'noise', district: 'Jiyang', node: 'NS-1' }, Date.now());
    await publish(a);
    const first = await until('first post', () => am.received[0]);
    expect(first.path).toBe('/api/v2/alerts');
    expect(first.body).toEqual([expect.objectContaining({ labels: expect.objectContaining({ alertname: 'NodeOffline', node: 'NS-1' }), annotations: { summary: a.summary, id: a.id } })]);
    await until('two re-sends', () => am.received.length >= 3);
    const ends = am.received.map((r) => Date.parse(r.body[0].endsAt));
    expect(ends[2]!).toBeGreaterThan(ends[0]!);
    await publish(resolved(a, Date.now()));
    await until('resolution', () => am.received.find((r) => Date.parse(r.body[0].endsAt) <= Date.now()));
    const n = am.received.length;
    await new Promise((r) => setTimeout(r, 800));
    expect(am.received.length).toBe(n); // resolved and delivered: no more re-sends
    expect(notifier.pending()).toBe(0);
    expect(await count('notifierSent')).toBe(n);
  });

  it('retries while Alertmanager is away and delivers the latest state of every alert', async () => {
    const port = await freePort();
    const { publish, count, notifier } = await setup(`http://127.0.0.1:${port}`);
    const a = makeAlert('CircuitDark', 'major', { kind: 'streetlight', district: 'Lixia', circuit: 'C5' }, Date.now());
    const b = makeAlert('ParkingLotFull', 'info', { kind: 'parking', district: 'Lixia', lot: 'P1' }, Date.now());
    await publish(a, b);
    await until('errors counted', async () => (await count('notifierErrors')) >= 2);
    await publish(resolved(b, Date.now()));
    expect(notifier.pending()).toBe(2);
    const am = await recorder();
    cleanups.push(am.close);
    // Not the same port (recorder picks its own): restart the notifier's target by pointing a server there.
    const { createServer } = await import('node:http');
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void fetch(`${am.url}${req.url}`, { method: 'POST', body: Buffer.concat(chunks), headers: { 'content-type': 'application/json' } }).then((r) => res.writeHead(r.status).end()));
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
    await publish(makeAlert('NoiseOverLimit', 'minor', { kind: 'noise', district: 'Lixia', station: 'S1' }, Date.now()));
    await until('rejected', async () => (await count('notifierErrors')) >= 1);
    await until('nothing pending', () => notifier.pending() === 0);
    am.status.code = 200;
    await publish(makeAlert('NoiseOverLimit', 'minor', { kind: 'noise', district: 'Lixia', station: 'S2' }, Date.now()));
    await until('next alert delivered', async () => (await count('notifierSent')) === 1);
  });
});

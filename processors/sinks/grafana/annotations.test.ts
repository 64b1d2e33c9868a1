/**
 * The annotation notifier's requests, received by a plain HTTP recorder on loopback (not a Grafana:
 * Grafana cannot run here; this checks what is sent, how it retries and what it drops).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTransport, TOPICS, type Alert } from '../../../core/index.js';
import { makeAlert, recorder, resolved, until } from '../alertmanager/testing.js';
import { grafanaAuthorization, startGrafanaAnnotator, toAnnotation } from './annotations.js';

const logger = pino({ level: 'silent' });
let grafana: Awaited<ReturnType<typeof recorder>>;
beforeAll(async () => {
  grafana = await recorder();
});
afterAll(() => grafana.close());

async function annotator(options: { retryWithinMs?: number } = {}) {
  const transport = new MemoryTransport();
  const a = await startGrafanaAnnotator({ transport, logger, url: `${grafana.url}/`, token: 'glsa_test_token', fromBeginning: true, retryMinMs: 50, retryMaxMs: 100, ...options });
  const producer = await transport.producer();
  const publish = (...alerts: Alert[]) => producer.send(TOPICS.alerts, alerts.map((x) => ({ key: x.id, value: Buffer.from(JSON.stringify(x)) })));
  return {
    a,
    publish,
    stop: async () => {
      await a.stop();
      await transport.close();
    },
  };
}

describe('Grafana annotations from alert events', () => {
  it('posts firing as a point, acknowledged as a point, resolved as a region from firing to resolution, tagged for the dashboards', async () => {
    grafana.received.length = 0;
    grafana.status.code = 200;
    const p = await annotator();
    try {
      const t = 1_767_225_600_000;
      const dark = makeAlert('CircuitDark', 'major', { kind: 'streetlight', district: 'Lixia', circuit: 'C1' }, t, '40 of 40 lamps of circuit C1 are <dark>');
      const acked: Alert = { ...dark, state: 'acknowledged', acknowledgedAt: t + 60_000, acknowledgedBy: 'crew-7', updatedAt: t + 60_000 };
      // The same firing alert rewritten (a new value) is not a new event.
      await p.publish(dark, { ...dark, value: 39, updatedAt: t + 1000 }, acked, resolved(acked, t + 600_000));
      await until('three annotations', () => grafana.received.length >= 3);
      await sleep(200);
      expect(grafana.received.map((r) => r.path)).toEqual(['/api/annotations', '/api/annotations', '/api/annotations']);
      expect(grafana.received[0]!.headers.authorization).toBe('Bearer glsa_test_token');
      const tags = ['city-brain', 'CircuitDark', 'Lixia', 'streetlight', 'major'];
      expect(grafana.received.map((r) => r.body)).toEqual([
        { time: t, tags: [...tags, 'firing'], text: '<b>CircuitDark firing</b>: 40 of 40 lamps of circuit C1 are &lt;dark&gt;' },
        { time: t + 60_000, tags: [...tags, 'acknowledged'], text: '<b>CircuitDark acknowledged</b>: 40 of 40 lamps of circuit C1 are &lt;dark&gt; (by crew-7)' },
        { time: t, timeEnd: t + 600_000, tags: [...tags, 'resolved'], text: '<b>CircuitDark resolved</b>: 40 of 40 lamps of circuit C1 are &lt;dark&gt;' },
      ]);
      expect(p.a.stats()).toEqual({ posted: 3, dropped: 0 });
      expect(grafanaAuthorization('admin:admin')).toBe('Basic YWRtaW46YWRtaW4=');
      expect(toAnnotation(makeAlert('DataRejectedSurge', 'minor', { reason: 'bad-json' }, t)).tags).toEqual(['city-brain', 'DataRejectedSurge', 'minor', 'firing']);
    } finally {
      await p.stop();
    }
  });

  it('retries while Grafana fails (503), then delivers; drops an annotation Grafana refuses as invalid (400)', async () => {
    grafana.received.length = 0;
    grafana.status.code = 503;
    const p = await annotator({ retryWithinMs: 60_000 });
    try {
      const t = Date.now();
      await p.publish(makeAlert('ParkingLotFull', 'minor', { kind: 'parking', district: 'Lixia', lot: 'L1' }, t));
      await until('failed attempts', () => grafana.received.length >= 3);
      grafana.status.code = 200;
      await until('delivered', () => p.a.stats().posted === 1);
      const attempts = grafana.received.length;
      expect(new Set(grafana.received.map((r) => JSON.stringify(r.body))).size).toBe(1);

      grafana.status.code = 400;
      await p.publish(makeAlert('NoiseOverLimit', 'minor', { kind: 'noise', district: 'Lixia', station: 'S1' }, t));
      await until('dropped', () => p.a.stats().dropped === 1);
      expect(grafana.received.length).toBe(attempts + 1);
      // The stream goes on after a refusal.
      grafana.status.code = 200;
      await p.publish(makeAlert('NodeOffline', 'major', { kind: 'parking', district: 'Lixia' }, t));
      await until('the next one delivered', () => p.a.stats().posted === 2);
    } finally {
      grafana.status.code = 200;
      await p.stop();
    }
  });
});

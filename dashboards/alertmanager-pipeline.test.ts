/**
 * The shipped routing end to end: lamp readings over MQTT into the embedded pipeline (processors,
 * aggregator, alert lifecycle, the Alertmanager notifier) and a real Alertmanager running the generated
 * configuration with this test's webhook receivers. One circuit goes dark (every lamp reports off while
 * scheduled on), then power comes back. processors/sinks/alertmanager/alertmanager.test.ts covers the
 * notifier with hand-made alerts (inhibition of lamps that do reach Alertmanager, outages); this one
 * checks that what the pipeline itself raises for the scenario arrives as the crews expect, and as
 * Grafana annotations (GRAFANA_URL pointed at the recorder).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDayStart, NodeRegistry, type NodeOf } from '../core/index.js';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import {
  alertmanagerFixture,
  ALERTMANAGER_FIXTURE_TIMEOUT_MS,
  releaseAlertmanagers,
  type AlertmanagerFixture,
} from '../infra/fixtures/alertmanager.js';
import { recorder, until, type Received } from '../processors/sinks/alertmanager/testing.js';
import { lamp } from '../test/fixtures.js';
import { testConfig } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { renderAlertmanagerConfig } from './alertmanager.js';
import { defaultKinds } from '../core/kinds/modules.js';

interface GettableAlert {
  labels: Record<string, string>;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[] };
  receivers: Array<{ name: string }>;
}

const C1 = Array.from(
  { length: 10 },
  (_, i) => lamp(i + 1, { circuit: 'C1', district: 'Lixia', road: 'Jingshi Road' }) as NodeOf<'streetlight'>,
);
const C2 = Array.from(
  { length: 10 },
  (_, i) => lamp(i + 11, { circuit: 'C2', district: 'Shizhong', road: 'Jingliu Road', nodeId: `SL-SZ-${i + 1}` }) as NodeOf<'streetlight'>,
);

let webhook: Awaited<ReturnType<typeof recorder>>;
let am: AlertmanagerFixture;
let pipeline: RunningPipeline | undefined;

beforeAll(async () => {
  webhook = await recorder();
  am = await alertmanagerFixture({
    config: renderAlertmanagerConfig({
      webhookUrl: (r) => `${webhook.url}/${r}`,
      groupWait: '1s',
      groupInterval: '1s',
      repeatInterval: '1h',
      resolveTimeout: '1m',
    }),
  });
}, ALERTMANAGER_FIXTURE_TIMEOUT_MS);
afterAll(async () => {
  await pipeline?.close();
  await releaseAlertmanagers();
  await webhook?.close();
});

const notified = (receiver: string, status: string, alertname: string): Received[] =>
  webhook.received.filter((r) => r.path === `/${receiver}` && r.body?.status === status && r.body?.groupLabels?.alertname === alertname);

describe('circuit-dark through the pipeline into a real Alertmanager with the shipped routing', () => {
  it('one CircuitDark with the contract labels, routed to the district crew as one grouped notification, no lamp alert of that circuit active, resolved when power returns', async () => {
    pipeline = await startPipeline({
      config: testConfig({
        ALERTMANAGER_URL: am.url,
        GRAFANA_URL: `${webhook.url}/grafana`,
        GRAFANA_TOKEN: 'glsa_pipeline_test',
        ALERT_HOLD_S: '60',
        ALERT_RESOLVE_HOLD_S: '60',
        EVAL_INTERVAL_MS: '200',
      }),
      registry: new NodeRegistry([...C1, ...C2], [], defaultKinds()),
      logger: pino({ level: 'silent' }),
    });
    const url = `mqtt://127.0.0.1:${pipeline.mqttPort}`;
    // 20:00 yesterday (Asia/Shanghai): lamps scheduled on, before half-night.
    const t0 = localDayStart(Date.now()) - 4 * 3_600_000;
    const minute = (n: number, c1On: boolean) =>
      [...C1, ...C2].map((node) => {
        const on = node.circuit === 'C2' || c1On;
        const ts = t0 + n * 60_000;
        return {
          topic: `city/${node.district}/streetlight/${node.nodeId}/telemetry`,
          payload: JSON.stringify({
            ts,
            seq: n,
            ...(on ? { powerState: 'on', dim: 100, powerW: 196, voltageV: 221 } : { powerState: 'off', powerW: 0, voltageV: 221 }),
          }),
        };
      });
    const publishMinutes = async (from: number, to: number, c1On: boolean) => {
      for (let n = from; n < to; n++) await publishAll(url, minute(n, c1On), { clients: 2 });
    };

    await publishMinutes(0, 2, true);
    // C1 dark, minute after minute of event time, until the alert (held 60 s of event time) is in
    // Alertmanager: the hold is judged on the data's clock, so the data has to move it on.
    const darkInAlertmanager = async () => {
      const all = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as GettableAlert[];
      return all.some((a) => a.labels.alertname === 'CircuitDark' && a.status.state !== 'unprocessed') && all;
    };
    let n = 2;
    for (; n < 30 && !(await darkInAlertmanager()); n++) await publishMinutes(n, n + 1, false);
    const fired = await until('CircuitDark in Alertmanager', darkInAlertmanager, 30_000);
    const dark = fired.filter((a) => a.labels.alertname === 'CircuitDark');
    expect(dark).toHaveLength(1);
    expect(dark[0]!.labels).toEqual({
      alertname: 'CircuitDark',
      severity: dark[0]!.labels.severity,
      kind: 'streetlight',
      district: 'Lixia',
      circuit: 'C1',
      ...(dark[0]!.labels.road ? { road: 'Jingshi Road' } : {}),
    });
    expect(['critical', 'major']).toContain(dark[0]!.labels.severity);
    expect(dark[0]!.status.state).toBe('active');
    expect(dark[0]!.receivers.map((r) => r.name)).toEqual(['crew-streetlight-lixia']);
    // No lamp alert of the dark circuit reaches a crew: the pipeline raises one circuit alert, and
    // Alertmanager inhibits any StreetlightOut of that circuit.
    expect(
      fired.filter((a) => a.labels.alertname === 'StreetlightOut' && a.labels.circuit === 'C1' && a.status.state === 'active'),
    ).toEqual([]);
    expect(fired.filter((a) => a.labels.circuit === 'C2')).toEqual([]);

    const [note] = await until(
      'grouped notification to the Lixia lamp crew',
      () =>
        notified('crew-streetlight-lixia', 'firing', 'CircuitDark').length > 0 &&
        notified('crew-streetlight-lixia', 'firing', 'CircuitDark'),
    );
    expect(note!.body.groupLabels).toEqual({ alertname: 'CircuitDark', district: 'Lixia', kind: 'streetlight', circuit: 'C1' });
    expect(note!.body.alerts).toHaveLength(1);
    expect(
      webhook.received.filter((r) =>
        r.body?.alerts?.some(
          (a: { labels: Record<string, string> }) => a.labels.alertname === 'StreetlightOut' && a.labels.circuit === 'C1',
        ),
      ),
    ).toEqual([]);

    // Power restored: the lamps report lit, minute after minute, until the circuit alert is resolved
    // (the resolve hold is 60 s of event time; on a loaded machine the pipeline may need a few more minutes).
    const gone = async () =>
      !((await (await fetch(`${am.url}/api/v2/alerts`)).json()) as GettableAlert[]).some((a) => a.labels.alertname === 'CircuitDark');
    for (const first = n; n < first + 60 && !(await gone()); n++) await publishMinutes(n, n + 1, true);
    await until('CircuitDark gone from /api/v2/alerts', gone, 30_000);
    const [done] = await until(
      'resolved notification',
      () =>
        notified('crew-streetlight-lixia', 'resolved', 'CircuitDark').length > 0 &&
        notified('crew-streetlight-lixia', 'resolved', 'CircuitDark'),
    );
    expect(done!.body.alerts[0]).toMatchObject({ status: 'resolved', labels: { alertname: 'CircuitDark', circuit: 'C1' } });

    // The same events as Grafana annotations (GRAFANA_URL, here the recorder: no Grafana runs in tests).
    const annotations = await until('CircuitDark annotations', () => {
      const posted = webhook.received.filter((r) => r.path === '/grafana/api/annotations' && r.body?.tags?.includes('CircuitDark'));
      return posted.some((r) => r.body.tags.includes('resolved')) && posted;
    });
    expect(annotations[0]!.headers.authorization).toBe('Bearer glsa_pipeline_test');
    expect(annotations.map((r) => r.body.tags)).toEqual([
      ['city-brain', 'CircuitDark', 'Lixia', 'streetlight', dark[0]!.labels.severity, 'firing'],
      ['city-brain', 'CircuitDark', 'Lixia', 'streetlight', dark[0]!.labels.severity, 'resolved'],
    ]);
    expect(annotations[1]!.body.timeEnd).toBeGreaterThan(annotations[1]!.body.time);
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { renderAlertmanagerConfig } from '../dashboards/alertmanager.js';
import {
  alertmanagerFixture,
  ALERTMANAGER_FIXTURE_TIMEOUT_MS,
  releaseAlertmanagers,
  type AlertmanagerFixture,
} from '../infra/fixtures/alertmanager.js';
import { recorder } from '../processors/sinks/alertmanager/testing.js';
import { testNow } from '../test/clock.js';
import { testConfig, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';

/**
 * ALERTMANAGER_RESEND_S takes effect: the pipeline, configured only through its environment, sends
 * to a real Alertmanager, whose own API shows when each alert was last received (`updatedAt`) and
 * until when it holds it (`endsAt`, 4 re-sends ahead). With 3 s instead of the shipped 60 s, the
 * re-sends come every 3 s, and an Alertmanager that crashed (its alerts gone) has them back within
 * seconds without anything changing in the city. Nothing here waits for the default minute: with it,
 * each wait below would time out.
 */
const RESEND_S = 3;
const registry = generateCity(defaultKinds());
const lamp = registry.ofKind('streetlight')[0]!;

interface AmAlert {
  labels: Record<string, string>;
  updatedAt: string;
  endsAt: string;
}

describe('ALERTMANAGER_RESEND_S against a real Alertmanager', () => {
  let webhook: Awaited<ReturnType<typeof recorder>>;
  let am: AlertmanagerFixture;
  let pipeline: RunningPipeline | undefined;

  beforeAll(async () => {
    webhook = await recorder();
    am = await alertmanagerFixture({ config: renderAlertmanagerConfig({ webhookUrl: (receiver) => `${webhook.url}/${receiver}` }) });
  }, ALERTMANAGER_FIXTURE_TIMEOUT_MS);

  afterAll(async () => {
    await pipeline?.close();
    await releaseAlertmanagers();
    await webhook?.close();
  }, 60_000);

  it('re-sends every ALERTMANAGER_RESEND_S with endsAt 4 re-sends ahead, and refills a restarted Alertmanager by the re-send', async () => {
    pipeline = await startPipeline({
      config: testConfig({
        ALERT_HOLD_S: '0',
        EVAL_INTERVAL_MS: '250',
        ONLINE_GRACE_FACTOR: '30',
        ALERTMANAGER_URL: am.url,
        ALERTMANAGER_RESEND_S: String(RESEND_S),
        ALERTMANAGER_RETRY_MIN_MS: '100',
        ALERTMANAGER_RETRY_MAX_MS: '1000',
      }),
      registry,
      defaultMetrics: false,
      clock: testNow,
    });
    const battery = async () => {
      const alerts = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as AmAlert[];
      const alert = alerts.find((a) => a.labels.alertname === 'NodeBatteryLow' && a.labels.node === lamp.nodeId);
      return alert && { updatedAt: Date.parse(alert.updatedAt), endsAt: Date.parse(alert.endsAt) };
    };
    const topic = `city/${lamp.district}/streetlight/${lamp.nodeId}/telemetry`;
    const { acked } = await publishAll(`mqtt://127.0.0.1:${pipeline.mqttPort}`, [
      { topic, payload: JSON.stringify({ ts: testNow(), powerState: 'on', dim: 100, battery: 0.05 }) },
    ]);
    expect(acked).toBe(1);

    // Held until 4 re-sends after it was sent (the notifier stamps endsAt just before Alertmanager stamps updatedAt).
    const first = await waitFor(battery, 30_000, 'NodeBatteryLow in Alertmanager');
    expect(first.endsAt - first.updatedAt).toBeLessThanOrEqual(4 * RESEND_S * 1000);
    expect(first.endsAt - first.updatedAt).toBeGreaterThan(3 * RESEND_S * 1000);

    // Re-sent with nothing changed: two consecutive re-sends, at least (about) RESEND_S apart.
    const next = async (after: number) =>
      waitFor(
        async () => {
          const seen = await battery();
          return seen && seen.updatedAt > after ? seen : undefined;
        },
        30_000,
        `a re-send after ${new Date(after).toISOString()}`,
      );
    const second = await next(first.updatedAt);
    const third = await next(second.updatedAt);
    expect(third.updatedAt - second.updatedAt).toBeGreaterThanOrEqual(RESEND_S * 1000 - 1000);
    expect(third.endsAt).toBeGreaterThan(second.endsAt);

    // Alertmanager crashes and comes back empty; the unchanged alert is back by the re-send.
    await am.halt();
    await am.resume();
    await waitFor(battery, 30_000, 'NodeBatteryLow back in the restarted Alertmanager');
  }, 120_000);
});

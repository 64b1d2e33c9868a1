import { afterAll, describe, expect, it } from 'vitest';
import { testNow } from '../test/clock.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { runDemo } from './demo.js';
import { demoTestConfig } from '../test/demo-config.js';

/** What a newcomer sees after `npm run demo`: KPIs and at least one alert within a minute. */
describe('npm run demo', () => {
  let demo: Awaited<ReturnType<typeof runDemo>> | undefined;
  afterAll(async () => demo?.close());

  it('shows KPIs for every kind and a firing alert within a minute', async () => {
    demo = await runDemo(demoTestConfig(), testNow);
    const api = `http://127.0.0.1:${demo.pipeline.httpPort}`;
    const kpis = await waitFor(
      async () => {
        const k = (await (await fetch(`${api}/api/v1/kpis`)).json()) as Record<string, Record<string, number | null>>;
        return typeof k.lighting?.rate === 'number' && k.nodes!.online! > 0 && k.groundwater!.reporting! > 0 && k.parking!.occupancy! > 0
          ? k
          : undefined;
      },
      30_000,
      'lighting rate, wells reporting, parking occupancy',
    );
    expect(kpis.lighting!.scheduledOn).toBe(true);
    expect(kpis.parking!.occupancy).toBeGreaterThan(0);
    expect(kpis.groundwater!.reporting).toBeGreaterThan(0);
    // MQTT_AUTH is on by default: the demo provisioned its 48 gateways (12 of them the manhole covers' NB-IoT platforms) and 91 direct nodes, each logged in as itself.
    const text = await (await fetch(`${api}/metrics`)).text();
    expect(metricValue(text, 'citybrain_mqtt_clients')).toBe(139);
    expect(metricValue(text, 'citybrain_mqtt_refused_total', { cause: 'bad-credentials' })).toBe(0);
    const alerts = await waitFor(
      async () => {
        const a = (await (await fetch(`${api}/api/v1/alerts?state=firing`)).json()) as { items: { alertname: string }[] };
        return a.items.length > 0 ? a.items : undefined;
      },
      60_000,
      'a firing alert',
    );
    expect(alerts.map((a) => a.alertname)).toEqual(expect.arrayContaining([expect.any(String)]));
  }, 90_000);

  it('fills every KPI within a minute: a judged noise hour, day/night levels per station, a trend per well, parking turnover', async () => {
    const api = `http://127.0.0.1:${demo!.pipeline.httpPort}`;
    type Station = { lastHour: { complete: boolean; leq: number | null }; today: { ld: number | null; ln: number | null } };
    type Well = { level: number | null; trend24hCmPerDay: number | null };
    let last: Record<string, Record<string, unknown>> = {};
    await waitFor(
      async () => {
        last = (await (await fetch(`${api}/api/v1/kpis`)).json()) as typeof last;
        const stations = last.noise!.list as Station[];
        const wells = last.groundwater!.list as Well[];
        return (
          (last.noise!.complete as number) === stations.length &&
          stations.every((s) => s.lastHour.complete && s.lastHour.leq !== null && (s.today.ld !== null || s.today.ln !== null)) &&
          wells.every((w) => w.level !== null && w.trend24hCmPerDay !== null) &&
          (last.parking!.sessions as number) > 0 &&
          (last.parking!.turnover as number) > 0
        );
      },
      60_000,
      'a complete noise hour at every station, day/night levels, well trends and parking turnover',
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}; noise complete ${String(last.noise?.complete)}/${String(last.noise?.stations)}, parking sessions ${String(last.parking?.sessions)}`,
      );
    });
  }, 90_000);
});

import { startPipeline } from '../bin/pipeline.js';
import { testConfig, waitFor } from './helpers.js';
import { publishAll } from './publish.js';
import { comparableKpis } from './readings.js';
import { processedIn, publishes, READINGS, registry, SETTINGS } from './reference.js';

/**
 * Restart tests: the reference settings plus alerts without hold times (so the final alert set is
 * a function of the final state, not of evaluation timing) and frequent state snapshots.
 */
export const RESTART_SETTINGS = { ...SETTINGS, ALERT_HOLD_S: '0', ALERT_RESOLVE_HOLD_S: '0', STATE_SNAPSHOT_INTERVAL_MS: '300' };

export interface AlertSummary {
  id: string;
  alertname: string;
  state: string;
  labels: Record<string, string>;
}

/** The active alerts (firing or acknowledged) as comparable summaries, sorted by id. */
export async function activeAlerts(api: string): Promise<AlertSummary[]> {
  const body = (await (await fetch(`${api}/api/v1/alerts`)).json()) as { items: (AlertSummary & Record<string, unknown>)[] };
  return body.items
    .filter((a) => a.state !== 'resolved')
    .map(({ id, alertname, state, labels }) => ({ id, alertname, state, labels }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** KPIs and active alerts of an uninterrupted embedded run over the reference readings. */
export async function referenceRun(settings: Record<string, string> = RESTART_SETTINGS): Promise<{ kpis: unknown; alerts: AlertSummary[] }> {
  const embedded = await startPipeline({ config: testConfig(settings), registry, defaultMetrics: false });
  try {
    await publishAll(`mqtt://127.0.0.1:${embedded.mqttPort}`, publishes);
    const api = `http://127.0.0.1:${embedded.httpPort}`;
    await waitFor(async () => processedIn(await (await fetch(`${api}/metrics`)).text()) === READINGS, 60_000, 'embedded run processed everything');
    // Settled: two equal reads a second apart.
    let last = '';
    return await waitFor(async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const now = { kpis: comparableKpis(await (await fetch(`${api}/api/v1/kpis`)).json()), alerts: await activeAlerts(api) };
      const text = JSON.stringify(now);
      const settled = text === last;
      last = text;
      return settled ? now : undefined;
    }, 30_000, 'reference run settled');
  } finally {
    await embedded.close();
  }
}

/** Waits until the API's active alerts equal the reference; on time-out fails with the difference. */
export async function expectAlertsToReach(api: string, reference: AlertSummary[], timeoutMs: number, expect: (a: unknown) => { toEqual(b: unknown): void }): Promise<void> {
  let last: unknown;
  await waitFor(async () => {
    last = await activeAlerts(api);
    return JSON.stringify(last) === JSON.stringify(reference);
  }, timeoutMs, 'alerts equal to the uninterrupted run').catch(() => expect(last).toEqual(reference));
}

import { publishAll } from './publish.js';
import { comparableKpis, type Publish } from './readings.js';
import { BASE, publishes, READINGS, registry, SETTINGS, startReferencePipeline } from './reference.js';
import { waitFor } from './helpers.js';

/**
 * Restart tests: the reference settings plus alerts without hold times (so the final alert set is
 * a function of the final state, not of evaluation timing) and frequent state snapshots.
 */
export const RESTART_SETTINGS = {
  ...SETTINGS,
  ALERT_HOLD_S: '0',
  ALERT_RESOLVE_HOLD_S: '0',
  STATE_SNAPSHOT_INTERVAL_MS: '300',
  ALLOWED_LATENESS_S: '3600',
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The first half's readings lie in [BASE, BASE + 3 min): every partition's watermark is then above BASE - 1 h. */
const LATENESS_MS = Number(RESTART_SETTINGS.ALLOWED_LATENESS_S) * 1000;

/** A valid reading of `node` at `ts`, without `seq` (so it is no repeat of the node's earlier readings). */
function readingAt(nodeId: string, ts: number): Publish {
  const first = publishes.find((p) => p.topic.split('/')[3] === nodeId)!;
  const { seq: _seq, ...body } = JSON.parse(first.payload) as Record<string, unknown>;
  return { topic: first.topic, payload: JSON.stringify({ ...body, ts }) };
}

const spread = [...registry.all()];
/**
 * Readings that come after the first half (and, in the restart test, after the restart) but are
 * older than the first half's newest reading on their partition. `tooLate`: 3 h before BASE, over
 * ALLOWED_LATENESS_S behind the restored watermark: dead-lettered as `late`, not applied.
 * `insideLateness`: 20 min before BASE, within it: applied. A watermark lost on restart lets the
 * first through; one restored without the lateness refuses the second.
 */
export const OLDER = {
  tooLate: Array.from({ length: 24 }, (_, i) => readingAt(spread[i * 150]!.nodeId, BASE - 3 * HOUR)),
  insideLateness: Array.from({ length: 24 }, (_, i) => readingAt(spread[i * 150 + 75]!.nodeId, BASE - 20 * MINUTE)),
};
if (BASE - 3 * HOUR >= BASE - LATENESS_MS || BASE - 20 * MINUTE < BASE - LATENESS_MS + 3 * MINUTE)
  throw new Error('OLDER readings do not straddle the lateness');

/** The restart tests' input in order: the first half, the older readings, the second half. */
export const RESTART_PHASES: [Publish[], Publish[], Publish[]] = [
  publishes.slice(0, READINGS / 2),
  [...OLDER.tooLate, ...OLDER.insideLateness],
  publishes.slice(READINGS / 2),
];
/** Readings those phases get processed: all but the ones too late. */
export const RESTART_PROCESSED = READINGS + OLDER.insideLateness.length;

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

/**
 * KPIs and active alerts of an uninterrupted embedded run over `phases` (each published once the
 * one before is acknowledged, so the log keeps their order), `processed` of them applied.
 */
export async function referenceRun(
  settings: Record<string, string> = RESTART_SETTINGS,
  phases: Publish[][] = [publishes],
  processed = phases.flat().length,
): Promise<{ kpis: unknown; alerts: AlertSummary[] }> {
  const { pipeline, api, settled } = await startReferencePipeline(settings);
  try {
    for (const phase of phases) await publishAll(`mqtt://127.0.0.1:${pipeline.mqttPort}`, phase);
    // Settled: an evaluation of partials computed after the last reading (no hold times: the alerts too).
    await settled(processed);
    return { kpis: comparableKpis(await (await fetch(`${api}/api/v1/kpis`)).json()), alerts: await activeAlerts(api) };
  } finally {
    await pipeline.close();
  }
}

/** Waits until the API's active alerts equal the reference; on time-out fails with the difference. */
export async function expectAlertsToReach(
  api: string,
  reference: AlertSummary[],
  timeoutMs: number,
  expect: (a: unknown) => { toEqual(b: unknown): void },
): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      last = await activeAlerts(api);
      return JSON.stringify(last) === JSON.stringify(reference);
    },
    timeoutMs,
    'alerts equal to the uninterrupted run',
  ).catch(() => expect(last).toEqual(reference));
}

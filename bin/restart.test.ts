import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStateDir, metricValue, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { expectKpisToReach, processedIn } from '../test/reference.js';
import {
  activeAlerts,
  expectAlertsToReach,
  OLDER,
  referenceRun,
  RESTART_PHASES,
  RESTART_PROCESSED,
  RESTART_SETTINGS,
  type AlertSummary,
} from '../test/restart.js';
import { spawnStage, type StageProcess } from '../test/stage-process.js';

/** Sum of the offsets the partition snapshots in `dir` cover (= records covered: the in-process log starts at 0). */
async function coveredOffsets(dir: string): Promise<number> {
  let sum = 0;
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    if (!/^raw-\d+\.json$/.test(file)) continue;
    sum += (JSON.parse(await readFile(join(dir, file), 'utf8')) as { offset: number }).offset;
  }
  return sum;
}

/** The API's evaluation time. */
async function evaluatedAt(api: string): Promise<number> {
  return ((await (await fetch(`${api}/api/v1/kpis`)).json()) as { evaluatedAt: number }).evaluatedAt;
}

/**
 * Resolves once the API shows an evaluation of processor partials computed after this call: the
 * evaluation time (the newest partial's) moves on twice. The processors' timer never overlaps
 * itself, so the partials of the second move were begun after the first's were done, after the call.
 */
async function evaluatedAfterNow(api: string): Promise<void> {
  const e0 = await evaluatedAt(api);
  const e1 = await waitFor(
    async () => {
      const e = await evaluatedAt(api);
      return e > e0 && e;
    },
    30_000,
    'a newer evaluation',
  );
  await waitFor(async () => (await evaluatedAt(api)) > e1, 30_000, 'a second newer evaluation');
}

type AlertDetail = { id: string; startsAt: number; firedAt: number; state: string };
const lifecycle = (alerts: AlertDetail[]) =>
  alerts
    .filter((a) => a.state !== 'resolved')
    .map(({ id, state, startsAt, firedAt }) => ({ id, state, startsAt, firedAt }))
    .sort((a, b) => a.id.localeCompare(b.id));

/**
 * Embedded mode (`city-brain start`, in-process log: LOG_STORE=memory): the process is SIGKILLed after half the
 * readings and started again on the same STATE_DIR. The log died with it, so the state files are
 * all that is left: the snapshots bring back every node's state, the watermarks and the alert
 * lifecycle; the second half then gives the same KPIs and alerts as one uninterrupted run.
 * The second half begins with readings older than the first half's newest (test/restart.ts
 * `OLDER`): those beyond the allowed lateness behind the restored watermarks must be dead-lettered
 * as late, those within it applied, as in the uninterrupted run; a watermark lost in the restart
 * would let the first kind through.
 */
describe('embedded restart from the state directory', () => {
  const running: StageProcess[] = [];
  let reference: { kpis: unknown; alerts: AlertSummary[] };

  beforeAll(async () => {
    reference = await referenceRun(RESTART_SETTINGS, RESTART_PHASES, RESTART_PROCESSED);
  }, 120_000);

  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  it('SIGKILL mid-day, restart on the same STATE_DIR: same KPIs and alerts as the uninterrupted run', async () => {
    expect(reference.alerts.length).toBeGreaterThan(0);
    const stateDir = freshStateDir();
    // The in-process log: the state files alone bring the pipeline back (the file log, durable, is bin/durable-log.test.ts).
    const env = { ...RESTART_SETTINGS, STATE_DIR: stateDir, LOG_STORE: 'memory' };
    const [firstHalf, older, secondHalf] = RESTART_PHASES;
    const half = firstHalf.length;

    const first = await spawnStage('start', env);
    running.push(first);
    const api1 = `http://127.0.0.1:${first.httpPort}`;
    expect((await publishAll(`mqtt://127.0.0.1:${first.mqttPort}`, firstHalf)).acked).toBe(half);
    await waitFor(async () => processedIn(await first.metrics()) === half, 60_000, 'first half processed');
    // Crash only once a snapshot covers everything accepted (the in-process log does not survive the process).
    await waitFor(async () => (await coveredOffsets(stateDir)) === half, 30_000, 'snapshots cover the first half');
    // An evaluation after the last reading, and the alert file holding what that evaluation shows.
    await evaluatedAfterNow(api1);
    const alertsFile = join(stateDir, 'alerts.json');
    const beforeDetail = await waitFor(
      async () => {
        const items = ((await (await fetch(`${api1}/api/v1/alerts`)).json()) as { items: AlertDetail[] }).items;
        const saved = JSON.parse(await readFile(alertsFile, 'utf8')) as { active: AlertDetail[] };
        return JSON.stringify(lifecycle(saved.active)) === JSON.stringify(lifecycle(items)) && items;
      },
      30_000,
      'the alert file to hold the active alerts the API shows',
    );
    const before = await activeAlerts(api1);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnStage('start', env);
    running.push(second);
    const api2 = `http://127.0.0.1:${second.httpPort}`;
    // Alerts come back from the state file with their ids and times, not fired anew.
    const restored = await waitFor(
      async () => {
        const items = ((await (await fetch(`${api2}/api/v1/alerts`)).json()) as { items: AlertDetail[] }).items;
        return items.length > 0 ? items : undefined;
      },
      30_000,
      'alerts restored',
    );
    for (const alert of beforeDetail.filter((a) => a.state !== 'resolved')) {
      expect(restored.find((a) => a.id === alert.id)).toMatchObject({ startsAt: alert.startsAt, firedAt: alert.firedAt });
    }
    expect(before.length).toBeGreaterThan(0);

    // The older readings first, before any newer one could move a watermark: judged by the restored watermarks.
    expect((await publishAll(`mqtt://127.0.0.1:${second.mqttPort}`, older)).acked).toBe(older.length);
    const late = (text: string) => metricValue(text, 'citybrain_readings_rejected_total', { reason: 'late' });
    let text = '';
    await waitFor(
      async () => processedIn((text = await second.metrics())) + late(text) === older.length,
      30_000,
      'the older readings judged',
    );
    expect({ applied: processedIn(text), late: late(text) }).toEqual({ applied: OLDER.insideLateness.length, late: OLDER.tooLate.length });

    expect((await publishAll(`mqtt://127.0.0.1:${second.mqttPort}`, secondHalf)).acked).toBe(secondHalf.length);
    await waitFor(async () => processedIn((text = await second.metrics())) === RESTART_PROCESSED - half, 60_000, 'second half processed');
    expect(late(text)).toBe(OLDER.tooLate.length);
    await expectKpisToReach(api2, reference.kpis, 60_000, expect);
    await expectAlertsToReach(api2, reference.alerts, 60_000, expect);
  }, 300_000);
});

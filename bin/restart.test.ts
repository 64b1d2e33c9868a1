import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStateDir, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { expectKpisToReach, processedIn, publishes, READINGS } from '../test/reference.js';
import { activeAlerts, expectAlertsToReach, referenceRun, RESTART_SETTINGS, type AlertSummary } from '../test/restart.js';
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

/**
 * Embedded mode (`city-brain start`, in-process log): the process is SIGKILLed after half the
 * readings and started again on the same STATE_DIR. The log died with it, so the state files are
 * all that is left: the snapshots bring back every node's state, the watermarks and the alert
 * lifecycle; the second half then gives the same KPIs and alerts as one uninterrupted run.
 */
describe('embedded restart from the state directory', () => {
  const running: StageProcess[] = [];
  let reference: { kpis: unknown; alerts: AlertSummary[] };

  beforeAll(async () => {
    reference = await referenceRun();
  }, 120_000);

  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  it('SIGKILL mid-day, restart on the same STATE_DIR: same KPIs and alerts as the uninterrupted run', async () => {
    expect(reference.alerts.length).toBeGreaterThan(0);
    const stateDir = freshStateDir();
    const env = { ...RESTART_SETTINGS, STATE_DIR: stateDir };
    const half = READINGS / 2;

    const first = await spawnStage('start', env);
    running.push(first);
    const api1 = `http://127.0.0.1:${first.httpPort}`;
    expect((await publishAll(`mqtt://127.0.0.1:${first.mqttPort}`, publishes.slice(0, half))).acked).toBe(half);
    await waitFor(async () => processedIn(await first.metrics()) === half, 60_000, 'first half processed');
    // Crash only once a snapshot covers everything accepted (the in-process log does not survive the process).
    await waitFor(async () => (await coveredOffsets(stateDir)) === half, 30_000, 'snapshots cover the first half');
    await new Promise((r) => setTimeout(r, 1000)); // an evaluation and an alert-file write after the last reading
    const before = await activeAlerts(api1);
    const beforeDetail = ((await (await fetch(`${api1}/api/v1/alerts`)).json()) as { items: { id: string; startsAt: number; firedAt: number; state: string }[] }).items;
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnStage('start', env);
    running.push(second);
    const api2 = `http://127.0.0.1:${second.httpPort}`;
    // Alerts come back from the state file with their ids and times, not fired anew.
    const restored = await waitFor(async () => {
      const items = ((await (await fetch(`${api2}/api/v1/alerts`)).json()) as { items: { id: string; startsAt: number; firedAt: number; state: string }[] }).items;
      return items.length > 0 ? items : undefined;
    }, 30_000, 'alerts restored');
    for (const alert of beforeDetail.filter((a) => a.state !== 'resolved')) {
      expect(restored.find((a) => a.id === alert.id)).toMatchObject({ startsAt: alert.startsAt, firedAt: alert.firedAt });
    }
    expect(before.length).toBeGreaterThan(0);

    expect((await publishAll(`mqtt://127.0.0.1:${second.mqttPort}`, publishes.slice(half))).acked).toBe(READINGS - half);
    await waitFor(async () => processedIn(await second.metrics()) === READINGS - half, 60_000, 'second half processed');
    await expectKpisToReach(api2, reference.kpis, 60_000, expect);
    await expectAlertsToReach(api2, reference.alerts, 60_000, expect);
  }, 300_000);
});

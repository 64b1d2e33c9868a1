import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { expectKpisToReach, processedIn, publishes, referenceKpis, SETTINGS } from '../test/reference.js';
import { fillDisk, smallDisk } from '../test/small-disk.js';
import { spawnStage, type StageProcess } from '../test/stage-process.js';

/**
 * `city-brain start` with its STATE_DIR on a small file system (a 64 MiB tmpfs) that fills up
 * while devices publish: publishes are refused unacknowledged and counted (ingest's
 * `append-failed`, the log's ENOSPC), the devices resend; once space returns, by itself, every
 * reading is acknowledged and processed once, and the KPIs equal those of an uninterrupted run.
 */
const READINGS = 3000;
const valid = publishes.slice(0, READINGS);

const disk = smallDisk('64m');

describe.skipIf(disk.path === undefined)('durable embedded log on a full disk', () => {
  let reference: unknown;
  let stage: StageProcess | undefined;

  beforeAll(async () => {
    reference = await referenceKpis(valid);
  }, 180_000);

  afterAll(() => {
    stage?.child.kill('SIGKILL');
    disk.unmount();
  });

  it('refuses publishes unacknowledged while the disk is full, counts them, and processes every resent reading once space returns', async () => {
    stage = await spawnStage('start', { ...SETTINGS, LOG_STORE: 'file', STATE_DIR: join(disk.path!, 'state') });
    const api = `http://127.0.0.1:${stage.httpPort}`;
    const half = READINGS / 2;
    expect((await publishAll(`mqtt://127.0.0.1:${stage.mqttPort}`, valid.slice(0, half))).acked).toBe(half);

    const filler = fillDisk(disk.path!);
    let acked = 0;
    const publishing = publishAll(`mqtt://127.0.0.1:${stage.mqttPort}`, valid.slice(half), {
      timeoutMs: 240_000,
      onAck: (n) => (acked = n),
    });
    // Refused and counted while full.
    const full = await waitFor(
      async () => {
        const text = await stage!.metrics();
        const refused = metricValue(text, 'citybrain_ingest_refused_total', { cause: 'append-failed' });
        const enospc = metricValue(text, 'citybrain_log_append_failed_total', { code: 'ENOSPC' });
        return refused >= 10 && enospc >= 10 && { refused, enospc, acked };
      },
      60_000,
      'publishes refused on the full disk',
    );
    expect(full.acked).toBeLessThan(READINGS - half);
    // Space returns: nothing restarted, the devices' resends go in.
    rmSync(filler);
    expect((await publishing).acked).toBe(READINGS - half);
    await waitFor(async () => processedIn(await stage!.metrics()) === READINGS, 120_000, `${READINGS} readings processed`);
    await expectKpisToReach(api, reference, 120_000, expect);
    console.info(
      `disk-full e2e: while full ${full.refused} publishes refused, ${full.enospc} appends failed ENOSPC, ${full.acked} acknowledged`,
    );
  }, 400_000);
});

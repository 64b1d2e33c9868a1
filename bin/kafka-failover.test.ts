import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { publishAll } from '../test/publish.js';
import { expectKpisToReach, processedIn, publishes, READINGS } from '../test/reference.js';
import { expectAlertsToReach, referenceRun, RESTART_SETTINGS, type AlertSummary } from '../test/restart.js';
import { spawnStage, startStages, type StageProcess } from '../test/stage-process.js';

/**
 * A processor instance SIGKILLed mid-stream and started again: its partitions move to the other
 * instance, which restores their latest state snapshot (compacted `state.processors` topic) and
 * rebuilds the rest from the log; nothing is lost or counted twice, and the final KPIs and active
 * alerts equal the uninterrupted (embedded) run.
 */
describe('processor failover on Kafka', () => {
  const running: StageProcess[] = [];
  let reference: { kpis: unknown; alerts: AlertSummary[] };
  let brokers = '';

  beforeAll(async () => {
    reference = await referenceRun();
    brokers = (await kafkaFixture()).brokers.join(',');
  }, 300_000);

  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await (await kafkaFixture().catch(() => null))?.release();
  });

  it('SIGKILL of one of two processors mid-stream, then a restart: final KPIs and alerts equal the uninterrupted run', async () => {
    // Snapshots every 300 ms; info logs to see the restores.
    const env = { KAFKA_BROKERS: brokers, ...RESTART_SETTINGS, LOG_LEVEL: 'info' };
    const { ingest, processors, api, all } = await startStages(env);
    const procA = processors[0]!;
    let procB = processors[1]!;
    running.push(...all);
    // Every log line of the survivor (output() keeps only the tail).
    const linesA: string[] = [];
    let partial = '';
    procA.child.stdout!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      linesA.push(...parts);
    });

    let killed = null as Promise<void> | null; // set in a callback: no narrowing to null
    let processedByBBeforeKill = 0;
    let linesABeforeKill = 0;
    const { acked } = await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, publishes, {
      onAck: (n) => {
        if (n === Math.floor(READINGS * 0.4) && !killed) {
          killed = (async () => {
            processedByBBeforeKill = processedIn(await procB.metrics());
            linesABeforeKill = linesA.length;
            procB.child.kill('SIGKILL');
            await procB.exited;
            await sleep(2000);
            procB = await spawnStage('process', env);
            running.push(procB);
          })();
        }
      },
    });
    expect(acked).toBe(READINGS);
    expect(killed).not.toBeNull();
    await killed;
    await expectKpisToReach(`http://127.0.0.1:${api.httpPort}`, reference.kpis, 120_000, expect);
    await expectAlertsToReach(`http://127.0.0.1:${api.httpPort}`, reference.alerts, 60_000, expect);

    type Restore = { partition: number; offset: number };
    type Reread = { partition: number; from: number; snapshotOffset: number | null };
    const logged = <T>(lines: string[], msg: string): T[] =>
      lines.flatMap((line) => {
        if (!line.includes(msg)) return [];
        try {
          const entry = JSON.parse(line) as T & { msg?: string };
          return entry.msg === msg ? [entry] : [];
        } catch {
          return [];
        }
      });
    const RESTORED = 'state restored from snapshot';
    const REREAD = 'partition re-read from the log to rebuild its state';
    // Partitions moved: the killed instance's partitions went to a new owner (the survivor, if the
    // group noticed the death before the restart joined, and the restarted instance), which put
    // their state back from snapshots. Which of the two gets them depends on when the group
    // rebalances; the restarted instance always gets some.
    const afterKillA = linesA.slice(linesABeforeKill);
    const restoredByA = logged<Restore>(afterKillA, RESTORED);
    const linesB = procB.output().split('\n');
    const restoredByB = logged<Restore>(linesB, RESTORED);
    const summary = `survivor restored ${JSON.stringify(restoredByA.map((r) => [r.partition, r.offset]))} and re-read ${JSON.stringify(logged<Reread>(afterKillA, REREAD).map((r) => [r.partition, r.from]))}; restarted restored ${JSON.stringify(restoredByB.map((r) => [r.partition, r.offset]))} and re-read ${JSON.stringify(logged<Reread>(linesB, REREAD).map((r) => [r.partition, r.from]))}`;
    expect(restoredByB.length, `partitions the restarted instance restored from snapshots; ${summary}`).toBeGreaterThan(0);
    for (const r of [...restoredByA, ...restoredByB]) expect(r.offset, `a snapshot restored at offset 0; ${summary}`).toBeGreaterThan(0);
    // A re-read starts at exactly the offset the restored snapshot covers, never at the first record.
    for (const [who, lines] of [
      ['survivor', afterKillA],
      ['restarted', linesB],
    ] as const) {
      const lastRestore = new Map<number, number>();
      for (const line of lines) {
        for (const r of logged<Restore>([line], RESTORED)) lastRestore.set(r.partition, r.offset);
        for (const r of logged<Reread>([line], REREAD)) {
          const snapshot = lastRestore.get(r.partition);
          expect(snapshot, `${who} re-read partition ${r.partition} from ${r.from} without a snapshot restored; ${summary}`).toBeDefined();
          expect(r.from, `${who}: partition ${r.partition} re-read from ${r.from}, its snapshot covers up to ${snapshot}; ${summary}`).toBe(
            snapshot,
          );
        }
      }
    }
    // Counts: what the killed instance had processed before it died was not counted again by the
    // new owners (a re-read is an uncounted replay; a repeat the snapshot covers is recognised), so
    // the two live counters add up to less than the readings.
    expect(processedByBBeforeKill).toBeGreaterThan(0);
    const [processedA, processedB] = [processedIn(await procA.metrics()), processedIn(await procB.metrics())];
    expect(
      processedA + processedB,
      `processed ${processedA} (survivor) + ${processedB} (restarted); ${processedByBBeforeKill} by the killed one before the kill; ${summary}`,
    ).toBeLessThan(READINGS);
    console.log(
      `failover: processed ${processedA} (survivor) + ${processedB} (restarted), ${processedByBBeforeKill} by the killed one when last read; ${summary}`,
    );
  }, 400_000);
});

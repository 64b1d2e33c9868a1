import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { publishAll } from '../test/publish.js';
import { expectKpisToReach, publishes, READINGS } from '../test/reference.js';
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
    let procB = processors[1]!;
    running.push(...all);

    let killed: Promise<void> | null = null;
    const { acked } = await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, publishes, {
      onAck: (n) => {
        if (n === Math.floor(READINGS * 0.4) && !killed) {
          killed = (async () => {
            procB.child.kill('SIGKILL');
            await procB.exited;
            await new Promise((r) => setTimeout(r, 2000));
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
    // The restarted instance took its partitions over from their snapshots, not from the first record.
    expect(procB.output()).toContain('state restored from snapshot');
  }, 400_000);
});

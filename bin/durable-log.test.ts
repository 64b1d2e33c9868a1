import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom, TOPICS } from '../core/index.js';
import { FileTransport } from '../core/stream/file/index.js';
import { freshStateDir, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { expectKpisToReach, publishes, referenceKpis, SETTINGS, withMalformed, withoutRejections } from '../test/reference.js';
import { spawnStage, type StageProcess } from '../test/stage-process.js';

/**
 * The embedded default (`city-brain start`, file log in STATE_DIR) SIGKILLed 5 times at seeded
 * random moments while devices publish at QoS 1 as fast as they are acknowledged, restarted each
 * time on the same STATE_DIR and ports. Devices resend what was not acknowledged. Nothing
 * acknowledged is lost and nothing is counted twice: the KPIs equal those of an uninterrupted run
 * of the same readings, and the log holds every valid reading.
 */
const READINGS = 10_000;
const KILLS = 5;
const SEED = 16;
const valid = publishes.slice(0, READINGS);
/** One malformed publish per 20 valid ones: the dead-letter path is killed mid-write too. */
const { stream, malformed: MALFORMED } = withMalformed(valid);

/** `city-brain start` restores from the snapshots only every 1.5 s here: most kills land between two, so the log carries the rest. */
const ENV = { ...SETTINGS, LOG_STORE: 'file', STATE_SNAPSHOT_INTERVAL_MS: '1500' };

describe('durable embedded log: SIGKILLs of city-brain start while devices publish', () => {
  let reference: unknown;
  const running: StageProcess[] = [];

  beforeAll(async () => {
    reference = withoutRejections(await referenceKpis(valid));
  }, 180_000);

  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  // Rejections are compared on their own: a publish rejected, then killed before its PUBACK, is resent and rejected again.
  it(`${KILLS} SIGKILLs at random moments, restarts on the same STATE_DIR: every acknowledged reading processed once, KPIs equal the uninterrupted run`, async () => {
    const stateDir = freshStateDir();
    const env = { ...ENV, STATE_DIR: stateDir };
    const rand = seededRandom(SEED);
    // Kill points: acknowledgement counts spread over the stream, each with a random delay after it.
    const at = Array.from({ length: KILLS }, () => Math.floor(stream.length * (0.05 + 0.85 * rand()))).sort((a, b) => a - b);
    const delays = at.map(() => Math.floor(rand() * 400));
    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    let stage = await spawnStage('start', env);
    running.push(stage);
    const ports = { httpPort: stage.httpPort, mqttPort: stage.mqttPort };
    let killing: Promise<void> = Promise.resolve();
    let kills = 0;
    let acked = 0;
    let busy = false;
    let floor = 0;
    const killNext = () => {
      const n = kills++;
      busy = true;
      killing = (async () => {
        await new Promise((resolve) => setTimeout(resolve, delays[n]));
        mark(`SIGKILL ${n + 1} (${acked} acknowledged)`);
        stage.child.kill('SIGKILL');
        await stage.exited;
        stage = await spawnStage('start', env, ports);
        running.push(stage);
        mark(`restarted ${n + 1}`);
        // The next kill comes once the restarted pipeline has acknowledged some publishes: each kill lands mid-stream.
        floor = acked + 200;
        busy = false;
      })();
    };
    const started = Date.now();
    const result = await publishAll(`mqtt://127.0.0.1:${ports.mqttPort}`, stream, {
      timeoutMs: 300_000,
      onAck: (n) => {
        acked = n;
        if (!busy && kills < KILLS && n >= Math.max(at[kills]!, floor)) killNext();
      },
    });
    const seconds = (Date.now() - started) / 1000;
    await killing;
    while (kills < KILLS) {
      killNext(); // the stream ended before the last kill point: kill the idle pipeline the remaining times
      await killing;
    }
    expect(result.acked).toBe(stream.length);
    mark(`all ${stream.length} acknowledged (${Math.round(stream.length / seconds)} publishes/s over the kills)`);
    console.info(`durable-log e2e: ${timeline.join('; ')}`);

    const api = `http://127.0.0.1:${stage.httpPort}`;
    const diagnose = (error: Error) => {
      throw new Error(`${error.message} (${timeline.join(', ')})\n${stage.output().slice(-3000)}`);
    };
    await expectKpisToReach(api, reference, 180_000, expect, withoutRejections).catch(diagnose);
    const rejected = await waitFor(
      async () => {
        const kpis = (await (await fetch(`${api}/api/v1/kpis`)).json()) as { nodes: { rejectedLast5m: Record<string, number> } };
        const n = kpis.nodes.rejectedLast5m['bad-json'] ?? 0;
        return n >= MALFORMED && n;
      },
      60_000,
      `the API to show ${MALFORMED} bad-json rejections`,
    );
    // At most the publishes in flight at the kills are rejected twice (each client keeps 50 in flight).
    expect(rejected).toBeLessThanOrEqual(MALFORMED + KILLS * 8 * 50);

    // The log itself holds every valid reading acknowledged (and each publish at most as often as it was sent again).
    stage.child.kill('SIGTERM');
    await stage.exited;
    const log = new FileTransport({ dir: join(stateDir, 'log') });
    await log.ensureTopics([{ name: TOPICS.raw, partitions: 12 }]);
    const inLog = new Set<string>();
    for (const p of log.topic(TOPICS.raw)) {
      for (let from = p.base; from < p.end;) {
        const { records, next } = p.read(from, 1000, p.end);
        for (const r of records) {
          const record = JSON.parse(r.value.toString()) as { type: string; reading?: { ts: number } };
          if (record.type === 'reading') inLog.add(`${r.key} ${record.reading!.ts}`);
        }
        from = next;
      }
    }
    await log.close();
    const expected = valid.map((p) => `${p.topic.split('/')[3]} ${(JSON.parse(p.payload) as { ts: number }).ts}`);
    expect(expected.filter((k) => !inLog.has(k))).toEqual([]);
  }, 600_000);
});

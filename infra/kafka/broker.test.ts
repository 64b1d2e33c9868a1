/**
 * The local process broker against itself: halt() takes it down with its data kept, resume()
 * brings it back on the same ports, clients find every acked record and committed offset, and
 * stop() still ends it and removes the data. A real broker (dedicatedKafka: no broker = FAIL).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedicatedKafka, type KafkaBroker } from '../fixtures/kafka.js';
import { waitFor } from '../../test/helpers.js';

/** How long the broker stays down (a realistic outage: longer than kafkajs' default connect retries take). */
const OUTAGE_MS = 20_000;
const TOPIC = `halt-${Date.now().toString(36)}`;
const COMMITTED = 7;

let broker: KafkaBroker | undefined;
let startError: unknown;
beforeAll(async () => {
  try {
    broker = await dedicatedKafka();
  } catch (error) {
    startError = error;
  }
}, 300_000);
afterAll(async () => {
  await broker?.stop();
}, 60_000);

const kafkaOf = (b: KafkaBroker, id: string, opts: { connectionTimeout?: number; requestTimeout?: number; retries?: number } = {}) =>
  new Kafka({
    clientId: `broker-test-${id}`,
    brokers: b.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: opts.connectionTimeout ?? 3000,
    requestTimeout: opts.requestTimeout ?? 10_000,
    retry: { retries: opts.retries ?? 5 },
  });

const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids of processes whose command line matches `pattern` (pgrep -f). */
const processes = (pattern: string): string[] => {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // exit 1: none
  }
};

/** Reads with `groupId` (subscribed from the beginning) until `count` values arrived, then 500 ms more to catch extras. */
async function consume(
  kafka: Kafka,
  groupId: string,
  count: number,
  timeoutMs = 30_000,
): Promise<Array<{ offset: number; value: string }>> {
  const seen: Array<{ offset: number; value: string }> = [];
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void seen.push({ offset: Number(message.offset), value: message.value?.toString() ?? '' }),
    });
    const until = Date.now() + timeoutMs;
    while (seen.length < count) {
      if (Date.now() > until) throw new Error(`group ${groupId} read ${seen.length} of ${count} messages within ${timeoutMs / 1000} s`);
      await sleep(50);
    }
    await sleep(500);
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

describe('local Kafka broker: halt() / resume() / stop()', () => {
  it('keeps topics, acked messages and committed offsets across an outage, on the same ports', async () => {
    if (!broker) throw startError;
    const b = broker;
    const t = (label: string, since: number) => console.log(`[broker.test] ${label}: ${((Date.now() - since) / 1000).toFixed(1)} s`);
    console.log(`[broker.test] started in ${(b.startMs / 1000).toFixed(1)} s at ${b.brokers.join(',')} (pid ${b.pid})`);
    const kafka = kafkaOf(b, 'main');

    // Before: a topic, 10 messages acked by all in-sync replicas, and a group that committed offset 7.
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 10 } });
    await producer.connect();
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `m${i}` })) });

    const committer = kafka.consumer({ groupId: `${TOPIC}-before`, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await committer.connect();
    await committer.subscribe({ topic: TOPIC, fromBeginning: true });
    let received = 0;
    await committer.run({ autoCommit: false, eachMessage: async () => void received++ });
    for (const until = Date.now() + 30_000; received < 10; await sleep(50)) {
      if (Date.now() > until) throw new Error(`committer read ${received} of 10`);
    }
    await committer.commitOffsets([{ topic: TOPIC, partition: 0, offset: String(COMMITTED) }]);
    await committer.disconnect();

    const oldPid = b.pid;
    const dataFiles = readdirSync(join(b.dataDir, 'kraft'));

    // Halt: the process group is gone, the data is not, and clients get no answer.
    let t0 = Date.now();
    await b.halt({ graceMs: 20_000 });
    const haltMs = Date.now() - t0;
    t('halt()', t0);
    const outageStart = Date.now();
    expect(b.state).toBe('halted');
    expect(groupAlive(oldPid)).toBe(false);
    expect(existsSync(join(b.dataDir, 'kraft', 'meta.properties'))).toBe(true);
    expect(readdirSync(join(b.dataDir, 'kraft'))).toEqual(
      expect.arrayContaining(dataFiles.filter((f) => f.startsWith(`${TOPIC}-`) || f === '__consumer_offsets-0')),
    );
    expect(processes(`kafka.Kafka.*${b.dataDir}`)).toEqual([]);
    expect(processes(`city-brain-kafka-reaper [0-9]+ ${b.dataDir}`)).toHaveLength(1);
    await b.halt(); // again: no-op

    const down = kafkaOf(b, 'down', { connectionTimeout: 1000, requestTimeout: 2000, retries: 0 }).admin({ retry: { retries: 0 } });
    t0 = Date.now();
    const attempt = down.connect().then(() => down.describeCluster());
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out (5 s)')), 5000).unref());
    await expect(Promise.race([attempt, timeout])).rejects.toThrow();
    await down.disconnect().catch(() => {});
    t('admin connect/describeCluster while halted failed after', t0);

    // Stay down for the rest of the outage, then come back on the same ports.
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStart))));
    t0 = Date.now();
    await b.resume();
    const resumeMs = Date.now() - t0;
    t('resume() until metadata served', t0);
    t('outage (halt returned .. resume returned)', outageStart);
    expect(b.state).toBe('running');
    expect(b.pid).not.toBe(oldPid);
    expect(groupAlive(b.pid)).toBe(true);
    expect(processes(`city-brain-kafka-reaper [0-9]+ ${b.dataDir}`)).toEqual([]);
    await b.resume(); // again: no-op

    // After: the topic and its 10 messages, from the beginning with a fresh group.
    t0 = Date.now();
    const admin2 = kafka.admin();
    await admin2.connect();
    expect(await admin2.listTopics()).toContain(TOPIC);
    expect((await admin2.fetchTopicOffsets(TOPIC)).map((p) => p.high)).toEqual(['10']);
    // The offset committed before the halt (the group coordinator may still be loading its offsets
    // just after the resume: "The coordinator is loading", a retriable error, asked again).
    const committed = await waitFor(
      () => admin2.fetchOffsets({ groupId: `${TOPIC}-before`, topics: [TOPIC] }).catch(() => undefined),
      60_000,
      'the committed offsets readable after the resume',
    );
    expect(committed[0]?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: String(COMMITTED) })]);
    await admin2.disconnect();

    const fresh = await consume(kafka, `${TOPIC}-fresh`, 10);
    expect(fresh.map((m) => m.value)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    // The old group resumes at its committed offset.
    const continued = await consume(kafka, `${TOPIC}-before`, 10 - COMMITTED);
    expect(continued).toEqual([7, 8, 9].map((o) => ({ offset: o, value: `m${o}` })));

    // A producer connected before the outage reconnects by itself.
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'after', value: 'after' }] });
    await producer.disconnect();
    const admin3 = kafka.admin();
    await admin3.connect();
    expect((await admin3.fetchTopicOffsets(TOPIC)).map((p) => p.high)).toEqual(['11']);
    await admin3.disconnect();
    t('checks after resume', t0);

    // stop() after halt/resume: ends the running broker and removes its data.
    const pid = b.pid;
    t0 = Date.now();
    await b.stop();
    t('stop()', t0);
    expect(b.state).toBe('stopped');
    expect(groupAlive(pid)).toBe(false);
    expect(existsSync(b.dataDir)).toBe(false);
    expect(processes(b.dataDir)).toEqual([]);
    await expect(b.resume()).rejects.toThrow(/stopped/);
    await b.stop(); // idempotent
    expect(haltMs).toBeLessThan(20_000);
    expect(resumeMs).toBeLessThan(120_000);
  }, 180_000);

  it('stop() while halted removes the data (and the halted-data reaper)', async () => {
    const b = await dedicatedKafka();
    try {
      const pid = b.pid;
      await b.halt();
      expect(existsSync(b.dataDir)).toBe(true);
      expect(processes(`city-brain-kafka-reaper [0-9]+ ${b.dataDir}`)).toHaveLength(1);
      expect(groupAlive(pid)).toBe(false);
      await b.stop();
      expect(b.state).toBe('stopped');
      expect(existsSync(b.dataDir)).toBe(false);
      expect(processes(b.dataDir)).toEqual([]);
    } finally {
      await b.stop();
    }
  }, 180_000);
});

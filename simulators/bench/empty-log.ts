import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaFixture } from '../../infra/fixtures/kafka.js';

/**
 * Empties the bench's own broker between two pipeline runs (one per Kafka client): deletes every
 * topic and consumer group, and waits until the topics are gone, so the next run starts as the
 * first did (no records, committed positions or state snapshots of the last one). A broker from
 * KAFKA_BROKERS is someone else's: it is left alone, and the runs after the first share its log.
 */
export async function emptyLog(kafka: KafkaFixture, log: (line: string) => void, timeoutMs = 60_000): Promise<void> {
  if (kafka.source === 'env') {
    log("kafka: KAFKA_BROKERS is not the bench's own broker: not emptied between clients (they share its log)");
    return;
  }
  const admin = new Kafka({ clientId: 'city-brain-bench', brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const until = Date.now() + timeoutMs;
    while ((await admin.listTopics()).some((t) => topics.includes(t))) {
      if (Date.now() > until) throw new Error(`kafka: topics not deleted after ${timeoutMs / 1000} s`);
      await sleep(200);
    }
    log(`kafka: log emptied (${topics.length} topics, ${groups.length} groups deleted)`);
  } finally {
    await admin.disconnect();
  }
}

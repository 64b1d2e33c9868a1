import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedicatedKafka, type KafkaBroker } from '../../infra/fixtures/kafka.js';
import { waitFor } from '../../test/helpers.js';
import { createKafkaTransport, KAFKA_CLIENTS } from './kafka-client.js';
import type { KafkaErrorContext } from './kafka-shared.js';

/**
 * A member that has joined its group keeps consuming after the broker froze long enough for the
 * group's session to lapse, on both clients. kafkajs leaves a crashed consumer stopped for good
 * after errors it does not retry ("Failed to find group coordinator" when a rejoin meets a broker
 * going away); the member restarts it itself, after every crash once it has joined, so without
 * that restart this test fails on kafkajs (CI saw an `api` that never aggregated again after a
 * Kafka outage).
 */
describe('Kafka broker frozen under a running consumer', () => {
  let broker: KafkaBroker;

  beforeAll(async () => {
    broker = await dedicatedKafka();
  }, 300_000);

  afterAll(() => broker?.stop(), 60_000);

  it.each(KAFKA_CLIENTS)(
    '%s: records published after the broker thawed are consumed',
    async (client) => {
      const phases: KafkaErrorContext['phase'][] = [];
      const transport = createKafkaTransport(client, {
        brokers: broker.brokers,
        clientId: `freeze-${client}`,
        retryDelayMs: 200,
        heartbeatIntervalMs: 500,
        requestTimeoutMs: 2000,
        onError: (_error, context) => void phases.push(context.phase),
      });
      const topic = `freeze-${client}-${Date.now().toString(36)}`;
      try {
        await transport.ensureTopics([{ name: topic, partitions: 2 }]);
        const partitions = [0, 1].map((partition) => ({ topic, partition }));
        const producer = await transport.producer();
        const seen = new Set<string>();
        const consumer = await transport.consume({
          groupId: `${topic}-group`,
          topics: [topic],
          onBatch: async (batch) => batch.records.forEach((r) => seen.add(r.value.toString())),
        });
        await producer.send(topic, [{ key: 'a', value: Buffer.from('before') }]);
        await waitFor(() => seen.has('before'), 30_000, 'the record published before the freeze consumed');

        // Frozen (as in a long GC pause or a stalled VM): requests time out, the group's session lapses.
        // broker.pid is the JVM's watchdog shell (the fixture's attached mode): the JVM is its child.
        const jvm = Number(
          execFileSync('pgrep', ['-P', String(broker.pid), 'java'])
            .toString()
            .trim(),
        );
        phases.length = 0; // a fresh broker's first join may already have crashed ("the coordinator is loading")
        process.kill(jvm, 'SIGSTOP');
        try {
          await waitFor(
            () => partitions.every((tp) => !consumer.holds(tp)) && (client !== 'kafkajs' || phases.includes('crash')),
            120_000,
            client === 'kafkajs' ? 'the consumer crashed and lost its session' : 'the consumer lost its session',
          );
        } finally {
          process.kill(jvm, 'SIGCONT');
        }

        // The producer may need a moment to find the broker again: a refused send is the device's resend.
        await waitFor(
          () => producer.send(topic, [{ key: 'b', value: Buffer.from('after') }]).then(() => true),
          60_000,
          'a send accepted after the thaw',
        );
        await waitFor(() => seen.has('after'), 90_000, 'the record published after the thaw consumed');
        await waitFor(async () => Object.values(await consumer.lag()).every((n) => n === 0), 30_000, 'no lag');
        // Its own again: the group hears from it.
        await waitFor(() => partitions.every((tp) => consumer.holds(tp)), 30_000, 'both partitions held again');
        expect([...seen].sort()).toEqual(['after', 'before']);
        await consumer.stop();
      } finally {
        await transport.close();
      }
    },
    300_000,
  );
});

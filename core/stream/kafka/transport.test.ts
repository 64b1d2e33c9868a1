import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { kafkaFixture, type KafkaFixture } from '../../../infra/fixtures/kafka.js';
import { streamContract } from '../contract.js';
import { kafkaTransportSuite } from '../kafka-suite.js';
import { KafkaTransport } from './transport.js';

// A real broker: KAFKA_BROKERS if set, else a local process started here (once for this file).
// No broker = every test below FAILS with the fixture's error (started in beforeAll, so the start-up
// time is not charged to the first test; the error is rethrown by kafkaFixture() in each test).
beforeAll(
  () =>
    kafkaFixture().then(
      () => {},
      () => {},
    ),
  300_000,
);
afterAll(async () => {
  await (await kafkaFixture().catch(() => null))?.release();
}, 60_000);

const run = `t${Date.now().toString(36)}`;
let n = 0;
const fresh = async () => {
  const kafka: KafkaFixture = await kafkaFixture();
  const prefix = `${run}-${++n}`;
  const errors: unknown[] = [];
  const transport = new KafkaTransport({
    brokers: kafka.brokers,
    clientId: `test-${prefix}`,
    retryDelayMs: 50,
    heartbeatIntervalMs: 500,
    onError: (e) => errors.push(e),
  });
  return { transport, prefix, errors };
};

streamContract('kafka', fresh, { retainsCommitted: true });

// kafkajs's DefaultPartitioner, as the producer would call it with a topic's metadata.
const kafkajsDefault = Partitioners.DefaultPartitioner();
const libraryPartition = (key: string, partitions: number) =>
  kafkajsDefault({
    topic: 'any',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    })),
    message: { key, value: null },
  });

kafkaTransportSuite(
  'kafkajs',
  async () => {
    const { transport, prefix } = await fresh();
    return { transport, prefix, admin: await transport.admin() };
  },
  { libraryPartition, libraryAgrees: true },
);

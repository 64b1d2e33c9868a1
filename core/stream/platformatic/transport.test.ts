import { defaultPartitioner } from '@platformatic/kafka';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { kafkaFixture, type KafkaFixture } from '../../../infra/fixtures/kafka.js';
import { streamContract } from '../contract.js';
import { kafkaTransportSuite } from '../kafka-suite.js';
import { PlatformaticTransport } from './transport.js';

// A real broker, as in core/stream/kafka/transport.test.ts (no broker = every test FAILS).
beforeAll(
  () =>
    kafkaFixture().then(
      () => {},
      () => {},
    ),
  300_000,
);
// Another client's view of the broker (offsets, configs) for kafkaTransportSuite.
let inspector: Promise<Admin> | null = null;
const inspect = (brokers: string[]) =>
  (inspector ??= (async () => {
    const admin = new Kafka({ clientId: 'inspector', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    return admin;
  })());
afterAll(async () => {
  await (await inspector?.catch(() => null))?.disconnect();
  await (await kafkaFixture().catch(() => null))?.release();
}, 60_000);

const run = `p${Date.now().toString(36)}`;
let n = 0;
const fresh = async () => {
  const kafka: KafkaFixture = await kafkaFixture();
  const prefix = `${run}-${++n}`;
  const transport = new PlatformaticTransport({
    brokers: kafka.brokers,
    clientId: `test-${prefix}`,
    retryDelayMs: 50,
    heartbeatIntervalMs: 500,
    onError: () => {}, // failing handlers are part of the tests
  });
  return { transport, prefix };
};

streamContract('kafka (@platformatic/kafka)', fresh, { retainsCommitted: true });
kafkaTransportSuite('@platformatic/kafka', async () => ({ ...(await fresh()), admin: await inspect((await kafkaFixture()).brokers) }), {
  libraryPartition: (key, partitions) => defaultPartitioner({ topic: 'any', value: Buffer.alloc(0) }, Buffer.from(key)) % partitions,
  libraryAgrees: false,
});

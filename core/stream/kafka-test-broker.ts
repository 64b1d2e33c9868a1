import { afterAll, beforeAll } from 'vitest';
import { kafkaFixture } from '../../infra/fixtures/kafka.js';
import type { KafkaTransportOptions } from './kafka-shared.js';

/**
 * The broker of a Kafka transport's test file (kafka/ and platformatic/ transport.test.ts): a real
 * one, KAFKA_BROKERS if set, else a local process started once for the file. It is started in
 * beforeAll, so the start-up time is not charged to the first test; no broker = every test FAILS
 * with the fixture's error (kafkaFixture() rethrows it in each test). `cleanup` runs after the
 * tests, before the broker is released.
 *
 * Returns `fresh`: for one test, a transport made by `create` on the broker and a prefix of its
 * own for its topics and groups (`tag` tells the files' topics apart).
 */
export function transportsOnTestBroker<T>(tag: string, create: (options: KafkaTransportOptions) => T, cleanup?: () => Promise<void>) {
  beforeAll(
    () =>
      kafkaFixture().then(
        () => {},
        () => {},
      ),
    300_000,
  );
  afterAll(async () => {
    await cleanup?.();
    await (await kafkaFixture().catch(() => null))?.release();
  }, 60_000);

  const run = `${tag}${Date.now().toString(36)}`;
  let n = 0;
  return async () => {
    const kafka = await kafkaFixture();
    const prefix = `${run}-${++n}`;
    const transport = create({
      brokers: kafka.brokers,
      clientId: `test-${prefix}`,
      retryDelayMs: 50,
      heartbeatIntervalMs: 500,
      onError: () => {}, // failing handlers are part of the tests
    });
    return { transport, prefix };
  };
}

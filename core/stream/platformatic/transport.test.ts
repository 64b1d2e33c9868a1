import { defaultPartitioner } from '@platformatic/kafka';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaFixture } from '../../../infra/fixtures/kafka.js';
import { streamContract } from '../contract.js';
import { KafkaTransport } from '../kafka/index.js';
import { kafkaTransportSuite } from '../kafka-suite.js';
import { transportsOnTestBroker } from '../kafka-test-broker.js';
import { waitFor } from '../../../test/helpers.js';
import { PlatformaticTransport } from './transport.js';

// Another client's view of the broker (offsets, configs) for kafkaTransportSuite.
let inspector: Promise<Admin> | null = null;
const inspect = (brokers: string[]) =>
  (inspector ??= (async () => {
    const admin = new Kafka({ clientId: 'inspector', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    return admin;
  })());

const fresh = transportsOnTestBroker(
  'p',
  (options) => new PlatformaticTransport(options),
  async () => {
    await (await inspector?.catch(() => null))?.disconnect();
  },
);

streamContract('kafka (@platformatic/kafka)', fresh, { retainsCommitted: true });
kafkaTransportSuite('@platformatic/kafka', async () => ({ ...(await fresh()), admin: await inspect((await kafkaFixture()).brokers) }), {
  libraryPartition: (key, partitions) => defaultPartitioner({ topic: 'any', value: Buffer.alloc(0) }, Buffer.from(key)) % partitions,
  libraryAgrees: false,
  // Seen in about one run in four: its commit met the rebalance on the wire and was retried after the join (at least once, not exactly once, at that handover).
  commitsBeforeHandover: false,
});

describe('@platformatic/kafka and kafkajs members in one group', () => {
  it('sticky: the same protocol on both clients; a member of either that joins takes nothing, and gets what the other leaves', async () => {
    const { transport, prefix } = await fresh();
    const other = new KafkaTransport({ brokers: transport.brokers, clientId: `test-${prefix}-kafkajs`, heartbeatIntervalMs: 500 });
    const topic = `${prefix}.mixed`;
    await transport.ensureTopics([{ name: topic, partitions: 2 }]);
    const groupId = `${prefix}-mixed`;
    const tp = (partition: number) => ({ topic, partition });
    const a = await transport.consume({ groupId, topics: [topic], sticky: true, onBatch: async () => {} });
    const b = await other.consume({ groupId, topics: [topic], sticky: true, onBatch: async () => {} });
    expect([a.holds(tp(0)), a.holds(tp(1)), b.holds(tp(0)), b.holds(tp(1))]).toEqual([true, true, false, false]);
    await a.stop();
    await waitFor(() => b.holds(tp(0)) && b.holds(tp(1)), 30_000, 'the kafkajs member holding both');
    // The other way round: the kafkajs member (now the group's leader) reads a @platformatic/kafka member's claim.
    const c = await transport.consume({ groupId, topics: [topic], sticky: true, onBatch: async () => {} });
    expect([b.holds(tp(0)), b.holds(tp(1)), c.holds(tp(0)), c.holds(tp(1))]).toEqual([true, true, false, false]);
    await b.stop();
    await waitFor(() => c.holds(tp(0)) && c.holds(tp(1)), 30_000, 'the @platformatic/kafka member holding both');
    await c.stop();
    await Promise.all([transport.close(), other.close()]);
  });
});

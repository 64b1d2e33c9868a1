import { Partitioners } from 'kafkajs';
import { streamContract } from '../contract.js';
import { kafkaTransportSuite } from '../kafka-suite.js';
import { transportsOnTestBroker } from '../kafka-test-broker.js';
import { KafkaTransport } from './transport.js';

const fresh = transportsOnTestBroker('t', (options) => new KafkaTransport(options));

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
  { libraryPartition, libraryAgrees: true, commitsBeforeHandover: true },
);

import { KafkaTransport } from './kafka/index.js';
import type { KafkaClientName, KafkaTransportOptions } from './kafka-shared.js';
import { PlatformaticTransport } from './platformatic/index.js';
import type { StreamTransport } from './types.js';

export { KAFKA_CLIENTS, type KafkaClientName } from './kafka-shared.js';

/** The stream contract on Apache Kafka with the named client library (`KAFKA_CLIENT`). */
export function createKafkaTransport(
  client: KafkaClientName,
  options: KafkaTransportOptions,
): StreamTransport & { readonly brokers: string[] } {
  return client === 'platformatic' ? new PlatformaticTransport(options) : new KafkaTransport(options);
}

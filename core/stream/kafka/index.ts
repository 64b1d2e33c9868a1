export {
  KafkaTransport,
  KAFKA_TRANSPORT_DEFAULTS,
  contractPartitioner,
  parseBrokers,
  type KafkaErrorContext,
  type KafkaTransportOptions,
} from './transport.js';
export { type LoggerLike, type KafkaLogLevel } from './logging.js';

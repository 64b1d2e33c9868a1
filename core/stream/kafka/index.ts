export { KafkaTransport, contractPartitioner, parseBrokers, type KafkaErrorContext, type KafkaTransportOptions } from './transport.js';
export { type LoggerLike, type KafkaLogLevel } from './logging.js';

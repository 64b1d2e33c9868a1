export { startKafka, clusterId, serverProperties, type KafkaBroker, type StartKafkaOptions } from './broker.js';
export { KAFKA_VERSION, kafkaLibs, kafkaVersion, cacheRoot, checkJava } from './dist.js';
export { kafkaService } from './service.js';

import type { ServiceModule } from '../services.js';
import { startKafka } from './broker.js';

/** `infra:up kafka`: a detached single-node KRaft broker; writes KAFKA_BROKERS. */
export const kafkaService: ServiceModule = {
  name: 'kafka',
  async up({ dataDir, logFile, log }) {
    const kafka = await startKafka({ dataDir, logFile, detached: true, log });
    return {
      pid: kafka.pid,
      env: { KAFKA_BROKERS: kafka.brokers.join(',') },
      commandMatch: 'kafka.Kafka',
      summary: `Apache Kafka ${kafka.version} at ${kafka.brokers.join(',')} (pid ${kafka.pid}, ready in ${(kafka.startMs / 1000).toFixed(1)} s, log ${logFile})`,
    };
  },
};

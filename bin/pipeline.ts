import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { buildApi } from '../api/server.js';
import { generateCity, loadRegistryFile, MemoryTransport, PipelineMetrics, topicSpecs, type Config, type NodeRegistry, type StreamTransport } from '../core/index.js';
import { TelemetryBridge } from '../ingest/bridge.js';
import { startBroker } from '../ingest/broker.js';
import { ProcessorHost } from '../processors/host.js';

export interface PipelineOptions {
  config: Config;
  logger?: Logger;
  registry?: NodeRegistry;
  transport?: StreamTransport;
  /** Collect Node's default process metrics (off in tests that start several pipelines). */
  defaultMetrics?: boolean;
}

export interface RunningPipeline {
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly registry: NodeRegistry;
  readonly host: ProcessorHost;
  readonly metrics: PipelineMetrics;
  readonly logger: Logger;
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.LOG_LEVEL, base: { service: 'city-brain' } });
}

export async function loadRegistry(config: Config, logger: Logger): Promise<NodeRegistry> {
  if (!config.REGISTRY) {
    const registry = generateCity();
    logger.info({ nodes: registry.size }, 'no REGISTRY set: using the generated default city');
    return registry;
  }
  const registry = await loadRegistryFile(config.REGISTRY);
  logger.info({ nodes: registry.size, file: config.REGISTRY }, 'registry loaded');
  return registry;
}

/** Services this version does not talk to yet are named, so nobody believes they are being fed. */
function warnUnsupported(config: Config, logger: Logger): void {
  const unsupported = (['INFLUX_URL', 'ALERTMANAGER_URL', 'GRAFANA_URL'] as const).filter((k) => config[k]);
  if (unsupported.length) logger.warn({ settings: unsupported }, 'these sinks are not part of this version yet; nothing is written to them');
  if (!config.API_TOKENS) logger.warn('API_TOKENS is not set: the HTTP API is open to anyone who can reach it');
}

/**
 * The embedded default: every stage in one process (MQTT broker and bridge, the log, the
 * processors, the API). Close order drains: stop taking MQTT input first, then finish processing,
 * then stop serving.
 */
export async function startPipeline(options: PipelineOptions): Promise<RunningPipeline> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config);
  if (config.KAFKA_BROKERS && !options.transport) {
    throw new Error('KAFKA_BROKERS is set but this version runs only the in-process log; unset KAFKA_BROKERS');
  }
  warnUnsupported(config, logger);
  const registry = options.registry ?? (await loadRegistry(config, logger));
  const metrics = new PipelineMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const transport =
    options.transport ??
    new MemoryTransport({ onError: (error, batch, groupId) => logger.error({ err: error, topic: batch.topic, partition: batch.partition, groupId }, 'batch failed; retrying') });
  await transport.ensureTopics(topicSpecs());
  const producer = await transport.producer();

  const host = new ProcessorHost({ registry, config, transport, producer, metrics, logger: logger.child({ stage: 'processors' }) });
  await host.start();

  const bridge = new TelemetryBridge({
    registry,
    producer,
    metrics,
    logger: logger.child({ stage: 'ingest' }),
    maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
    maxBatchBytes: config.MAX_BATCH_BYTES,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_S * 1000,
  });
  const broker = await startBroker({ host: config.MQTT_HOST, port: config.MQTT_PORT, bridge, metrics, logger: logger.child({ stage: 'ingest' }) });

  const api = await buildApi({ view: host, metrics, logger, tokens: config.API_TOKENS });
  await api.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const httpPort = (api.server.address() as AddressInfo).port;
  logger.info({ mqttPort: broker.port, httpPort, nodes: registry.size, transport: transport.name }, 'pipeline running');

  let closing: Promise<void> | null = null;
  return {
    mqttPort: broker.port,
    httpPort,
    registry,
    host,
    metrics,
    logger,
    close() {
      closing ??= (async () => {
        await broker.close();
        await host.stop();
        await api.close();
        await transport.close();
        logger.info('pipeline stopped');
      })();
      return closing;
    },
  };
}

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { buildApi } from '../api/server.js';
import { KafkaTransport } from '../core/stream/kafka/index.js';
import { MemoryTransport, TOPICS, topicSpecs, type Config, type NodeRegistry, type PipelineMetrics, type Producer, type StreamTransport } from '../core/index.js';
import { TelemetryBridge } from '../ingest/bridge.js';
import { startBroker } from '../ingest/broker.js';
import { Aggregator } from '../processors/aggregator.js';
import { ProcessorHost } from '../processors/host.js';
import { startAlertmanagerNotifier } from '../processors/sinks/alertmanager/index.js';
import { startInfluxSink } from '../processors/sinks/influxdb/index.js';
import { pipelineView } from '../processors/view.js';

/** What every stage is built from: one registry, config, log transport, producer, metrics and logger. */
export interface StageContext {
  config: Config;
  registry: NodeRegistry;
  transport: StreamTransport;
  producer: Producer;
  metrics: PipelineMetrics;
  logger: Logger;
}

export interface Stage {
  close(): Promise<void>;
}

/** Apache Kafka when KAFKA_BROKERS is set, else the in-process log. */
export function createTransport(config: Config, logger: Logger): StreamTransport {
  const onError = (error: unknown, where: object) => logger.error({ err: error, ...where }, 'log transport error; the batch is retried');
  if (config.KAFKA_BROKERS) {
    return new KafkaTransport({ brokers: config.KAFKA_BROKERS, logger: logger.child({ stage: 'kafka' }), onError: (error, c) => onError(error, { phase: c.phase, groupId: c.groupId, topic: c.batch?.topic, partition: c.batch?.partition }) });
  }
  return new MemoryTransport({ onError: (error, batch, groupId) => onError(error, { groupId, topic: batch.topic, partition: batch.partition }) });
}

export async function prepareLog(transport: StreamTransport): Promise<void> {
  await transport.ensureTopics(topicSpecs());
}

/** MQTT in, log out. */
export async function startIngest(ctx: StageContext): Promise<Stage & { port: number }> {
  const { config } = ctx;
  const logger = ctx.logger.child({ stage: 'ingest' });
  const bridge = new TelemetryBridge({
    registry: ctx.registry,
    producer: ctx.producer,
    metrics: ctx.metrics,
    logger,
    maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
    maxBatchBytes: config.MAX_BATCH_BYTES,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_S * 1000,
  });
  const broker = await startBroker({ host: config.MQTT_HOST, port: config.MQTT_PORT, maxInflight: config.INGEST_MAX_INFLIGHT, bridge, metrics: ctx.metrics, logger });
  return { port: broker.port, close: () => broker.close() };
}

/** One member of the processor group: owns some partitions of telemetry.raw, publishes their partials. */
export async function startProcess(ctx: StageContext): Promise<Stage & { host: ProcessorHost }> {
  const host = new ProcessorHost({ ...ctx, logger: ctx.logger.child({ stage: 'processors' }), role: 'processor', rawPartitions: await ctx.transport.partitionCount(TOPICS.raw) });
  await host.start();
  return { host, close: () => host.stop() };
}

/**
 * The HTTP API with the aggregator (KPIs and the alert lifecycle). Node views come from `nodes`
 * when the processors run in this process, else from a replica that reads every partition.
 */
export async function startApi(ctx: StageContext, nodes?: ProcessorHost): Promise<Stage & { port: number; aggregator: Aggregator }> {
  let replica: ProcessorHost | undefined;
  if (!nodes) {
    replica = new ProcessorHost({
      ...ctx,
      logger: ctx.logger.child({ stage: 'api-replica' }),
      role: 'replica',
      groupId: `citybrain-api-${process.pid}-${Date.now()}`,
      rawPartitions: await ctx.transport.partitionCount(TOPICS.raw),
    });
    await replica.start();
  }
  const aggregator = new Aggregator({ ...ctx, logger: ctx.logger.child({ stage: 'aggregator' }) });
  await aggregator.start();
  const api = await buildApi({ view: pipelineView(nodes ?? replica!, aggregator), metrics: ctx.metrics, logger: ctx.logger, tokens: ctx.config.API_TOKENS });
  await api.listen({ host: ctx.config.HTTP_HOST, port: ctx.config.HTTP_PORT });
  return {
    port: (api.server.address() as AddressInfo).port,
    aggregator,
    async close() {
      await api.close();
      await aggregator.stop();
      await replica?.stop();
    },
  };
}

/** /health, /ready and /metrics for a stage process that serves no API (ingest, process). */
export async function startOps(ctx: StageContext, ready: () => boolean): Promise<Stage & { port: number }> {
  const ops = await buildApi({ metrics: ctx.metrics, logger: ctx.logger, ready });
  await ops.listen({ host: ctx.config.HTTP_HOST, port: ctx.config.HTTP_PORT });
  return { port: (ops.server.address() as AddressInfo).port, close: () => ops.close() };
}

/**
 * The sinks that are configured, each a consumer group of its own: KPIs, alerts and low-rate
 * readings to InfluxDB (INFLUX_*), alerts to Alertmanager (ALERTMANAGER_URL).
 */
export async function startSinks(ctx: StageContext): Promise<Stage & { names: string[] }> {
  const parts: Stage[] = [];
  const names: string[] = [];
  if (ctx.config.INFLUX_URL) {
    parts.push(await startInfluxSink(ctx));
    names.push('influxdb');
  }
  if (ctx.config.ALERTMANAGER_URL) {
    const notifier = await startAlertmanagerNotifier({ transport: ctx.transport, metrics: ctx.metrics, logger: ctx.logger.child({ stage: 'notifier' }), url: ctx.config.ALERTMANAGER_URL });
    parts.push({ close: () => notifier.stop() });
    names.push('alertmanager');
  }
  return {
    names,
    async close() {
      for (const part of parts) await part.close();
    },
  };
}

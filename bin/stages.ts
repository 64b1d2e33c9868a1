import { accessSync, constants, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { buildApi } from '../api/server.js';
import { FileTransport } from '../core/stream/file/index.js';
import { createKafkaTransport } from '../core/stream/kafka-client.js';
import {
  ConfigError,
  MemoryTransport,
  PendingRegistrations,
  RegistryAudit,
  TOPICS,
  topicSpecs,
  type Config,
  type KindCatalog,
  type NodeRegistry,
  type PipelineMetrics,
  type Producer,
  type RegistryFeed,
  type StreamTransport,
} from '../core/index.js';
import { TelemetryBridge } from '../ingest/bridge.js';
import { Quarantine } from '../ingest/quarantine.js';
import { loadMqttAuth, registerStore, storeFor } from '../ingest/auth/index.js';
import { startBroker } from '../ingest/broker.js';
import { CredentialFile } from '../ingest/auth/credential-file.js';
import { Aggregator } from '../processors/aggregator.js';
import { ProcessorHost } from '../processors/host.js';
import { startAlertmanagerNotifier } from '../processors/sinks/alertmanager/index.js';
import { startGrafanaAnnotator } from '../processors/sinks/grafana/index.js';
import { startInfluxSink } from '../processors/sinks/influxdb/index.js';
import { alertmanagerTimings, grafanaTimings, influxTimings } from './sink-timings.js';
import { ElectedAggregation } from '../processors/aggregation/elected.js';
import { pipelineView, type Aggregation } from '../processors/view.js';

/** What every stage is built from: one registry, config, log transport, producer, metrics and logger. */
export interface StageContext {
  config: Config;
  registry: NodeRegistry;
  /** Keeps `registry` equal to the registry topic; how changes are made (publish). */
  registryFeed: RegistryFeed;
  transport: StreamTransport;
  producer: Producer;
  metrics: PipelineMetrics;
  logger: Logger;
  /** The processing stages' wall clock (ingest's future-skew check, the processors' and aggregator's clocks); tests inject a simulated one. */
  clock: () => number;
}

export interface Stage {
  close(): Promise<void>;
}

/**
 * Apache Kafka (with the KAFKA_CLIENT library) when KAFKA_BROKERS is set; else the file log in STATE_DIR/log (LOG_STORE=file, the
 * default when STATE_DIR can be written) or the in-process log (LOG_STORE=memory).
 */
export function createTransport(config: Config, logger: Logger, metrics: PipelineMetrics): StreamTransport {
  // Each is retried where it happened: the batch delivered again, the callback called again, the crashed consumer started again.
  const onError = (error: unknown, where: object) => logger.error({ err: error, ...where }, 'log transport error; retrying');
  if (config.KAFKA_BROKERS) {
    return createKafkaTransport(config.KAFKA_CLIENT, {
      brokers: config.KAFKA_BROKERS,
      logger: logger.child({ stage: 'kafka' }),
      onError: (error, c) => onError(error, { phase: c.phase, groupId: c.groupId, topic: c.batch?.topic, partition: c.batch?.partition }),
    });
  }
  const store = config.LOG_STORE ?? (writableDir(config.STATE_DIR) ? 'file' : 'memory');
  if (store === 'file') return fileLog(config, logger, metrics, onError);
  if (!config.LOG_STORE)
    logger.warn(
      { stateDir: config.STATE_DIR },
      'STATE_DIR cannot be written: the log is kept in memory, and readings acknowledged since the last state snapshot are lost if the process dies; point STATE_DIR at a writable directory',
    );
  return new MemoryTransport({
    onError: (error, batch, groupId) => onError(error, { groupId, topic: batch.topic, partition: batch.partition }),
  });
}

/** Whether `dir` exists (or can be made) and can be written. */
function writableDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The durable embedded log in STATE_DIR/log: recovery reported in one line and a metric, failed appends counted. */
function fileLog(
  config: Config,
  logger: Logger,
  metrics: PipelineMetrics,
  onError: (error: unknown, where: object) => void,
): FileTransport {
  const dir = join(config.STATE_DIR, 'log');
  const log = logger.child({ stage: 'log' });
  try {
    return new FileTransport({
      dir,
      fsync: config.LOG_FSYNC,
      fsyncIntervalMs: config.LOG_FSYNC_INTERVAL_MS,
      retentionBytes: config.LOG_RETENTION_BYTES,
      segmentBytes: config.LOG_SEGMENT_BYTES,
      ...(config.LOG_RETENTION_HOURS !== undefined ? { retentionMs: config.LOG_RETENTION_HOURS * 3_600_000 } : {}),
      onError: (error, batch, groupId) => onError(error, { groupId, topic: batch.topic, partition: batch.partition }),
      onRecovered: (damages) => {
        for (const d of damages) metrics.logRecoveryDropped.inc({ reason: d.reason }, d.droppedBytes);
        log.warn(
          {
            dropped: damages.map((d) => ({
              topic: d.topic,
              partition: d.partition,
              segment: d.segment,
              position: d.position,
              bytes: d.droppedBytes,
              reason: d.reason,
              detail: d.detail,
            })),
          },
          `log recovered: ${damages.reduce((n, d) => n + d.droppedBytes, 0)} damaged bytes cut off ${damages.length} segment(s) (records before the damage kept)`,
        );
      },
      onAppendFailed: (error, topic) => {
        metrics.logAppendFailed.inc({ code: error.code ?? 'unknown' });
        log.error({ err: error, topic, dir }, error.code === 'ENOSPC' ? 'log append refused: the disk is full' : 'log append failed');
      },
      onFlushError: (error) => log.error({ err: error, dir }, 'log flush failed (fsync or group positions); retried at the next interval'),
    });
  } catch (error) {
    throw new ConfigError(`invalid configuration: STATE_DIR: ${(error as Error).message}`, { cause: error });
  }
}

export async function prepareLog(transport: StreamTransport, kinds: KindCatalog): Promise<void> {
  await transport.ensureTopics(topicSpecs(kinds));
}

/** MQTT in, log out. */
export async function startIngest(ctx: StageContext): Promise<Stage & { port: number; tlsPort: number | undefined }> {
  const { config } = ctx;
  const logger = ctx.logger.child({ stage: 'ingest' });
  const bridge = new TelemetryBridge({
    registry: ctx.registry,
    producer: ctx.producer,
    metrics: ctx.metrics,
    logger,
    maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
    maxBatchBytes: config.MAX_BATCH_BYTES,
    maxBatchEntries: config.MAX_BATCH_ENTRIES,
    dlqPayloadBytes: config.DLQ_PAYLOAD_BYTES,
    dlqPayloadMaxDepth: config.DLQ_PAYLOAD_MAX_DEPTH,
    maxFutureSkewMs: config.MAX_FUTURE_SKEW_S * 1000,
    ...(config.AUTO_REGISTER === 'quarantine'
      ? {
          quarantine: new Quarantine({
            producer: ctx.producer,
            registry: ctx.registry,
            metrics: ctx.metrics,
            maxPending: config.AUTO_REGISTER_MAX_PENDING,
            maxPerClient: config.MAX_BATCH_ENTRIES,
            payloadBytes: config.DLQ_PAYLOAD_BYTES,
          }),
        }
      : {}),
    now: ctx.clock,
  });
  const auth = await loadMqttAuth(config, ctx.registry, logger);
  if (auth) registerStore(config, auth.store);
  const broker = await startBroker({
    host: config.MQTT_HOST,
    port: config.MQTT_PORT,
    maxInflight: config.INGEST_MAX_INFLIGHT,
    bridge,
    metrics: ctx.metrics,
    logger,
    ...(auth ? { auth: { store: auth.store, registry: ctx.registry } } : {}),
    ...(config.MQTT_TLS_PORT !== undefined
      ? { tls: { port: config.MQTT_TLS_PORT, ...(await readTlsFiles(config.MQTT_TLS_CERT!, config.MQTT_TLS_KEY!)) } }
      : {}),
    maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
    connectRate: { perSecond: config.MQTT_CONNECT_RATE_PER_IP, burst: config.MQTT_CONNECT_BURST_PER_IP },
    keepaliveMaxS: config.MQTT_KEEPALIVE_MAX_S,
    maxConnectBytes: config.MQTT_MAX_CONNECT_BYTES,
    login: {
      queueMax: config.MQTT_AUTH_QUEUE_MAX,
      usernameFailures: config.MQTT_AUTH_BACKOFF_USERNAME_FAILURES,
      prefixFailures: config.MQTT_AUTH_BACKOFF_PREFIX_FAILURES,
      backoffMaxMs: config.MQTT_AUTH_BACKOFF_MAX_S * 1000,
    },
    sessions: {
      maxFiltersPerSubscribe: config.MQTT_MAX_FILTERS_PER_SUBSCRIBE,
      maxFiltersPerClient: config.MQTT_MAX_FILTERS_PER_CLIENT,
      queueMax: config.MQTT_SESSION_QUEUE_MAX,
      queueMaxBytes: config.MQTT_SESSION_QUEUE_MAX_BYTES,
    },
    userProperties: { maxCount: config.MQTT_MAX_USER_PROPERTIES, maxBytes: config.MQTT_MAX_USER_PROPERTY_BYTES },
    receiveMaximum: config.MQTT_RECEIVE_MAXIMUM,
    sessionExpiryMaxS: config.MQTT_SESSION_EXPIRY_MAX_S,
  });
  return {
    port: broker.port,
    tlsPort: broker.tlsPort,
    async close() {
      auth?.close();
      await broker.close();
    },
  };
}

async function readTlsFiles(certFile: string, keyFile: string): Promise<{ cert: Buffer; key: Buffer }> {
  const read = (name: string, file: string) =>
    readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError(`invalid configuration: ${name}: cannot read ${file}: ${error.code ?? error.message}`);
    });
  return { cert: await read('MQTT_TLS_CERT', certFile), key: await read('MQTT_TLS_KEY', keyFile) };
}

/** One member of the processor group: owns some partitions of telemetry.raw, publishes their partials. */
export async function startProcess(ctx: StageContext): Promise<Stage & { host: ProcessorHost }> {
  const host = new ProcessorHost({
    ...ctx,
    wall: ctx.clock,
    logger: ctx.logger.child({ stage: 'processors' }),
    role: 'processor',
    rawPartitions: await ctx.transport.partitionCount(TOPICS.raw),
  });
  await host.start();
  return { host, close: () => host.stop() };
}

/**
 * The HTTP API with the aggregation (KPIs and the alert lifecycle): on the in-process log this
 * process's aggregator; on Kafka one of several instances aggregates, elected through the log, and
 * the others serve what it publishes. Node views come from `nodes` when the processors run in this
 * process, else from a replica that reads every partition.
 */
export async function startApi(ctx: StageContext, nodes?: ProcessorHost): Promise<Stage & { port: number; aggregator: Aggregation }> {
  let replica: ProcessorHost | undefined;
  if (!nodes) {
    replica = new ProcessorHost({
      ...ctx,
      wall: ctx.clock,
      logger: ctx.logger.child({ stage: 'api-replica' }),
      role: 'replica',
      groupId: `citybrain-api-${process.pid}-${Date.now()}`,
      rawPartitions: await ctx.transport.partitionCount(TOPICS.raw),
    });
    await replica.start();
  }
  const options = { ...ctx, wall: ctx.clock, logger: ctx.logger.child({ stage: 'aggregator' }) };
  const aggregator: Aggregation = ctx.transport.durable
    ? new ElectedAggregation({ ...options, sessionTimeoutMs: ctx.config.AGGREGATOR_SESSION_TIMEOUT_S * 1000 })
    : new Aggregator(options);
  await aggregator.start();
  const audit = new RegistryAudit({
    transport: ctx.transport,
    producer: ctx.producer,
    logger: ctx.logger.child({ stage: 'audit' }),
    stateDir: ctx.config.STATE_DIR,
  });
  await audit.start();
  const pending =
    ctx.config.AUTO_REGISTER === 'quarantine'
      ? new PendingRegistrations({
          transport: ctx.transport,
          producer: ctx.producer,
          registry: ctx.registry,
          logger: ctx.logger.child({ stage: 'pending' }),
        })
      : undefined;
  await pending?.start();
  const api = await buildApi({
    view: pipelineView(nodes ?? replica!, aggregator),
    kinds: ctx.registry.kinds,
    metrics: ctx.metrics,
    logger: ctx.logger,
    tokens: ctx.config.API_TOKENS,
    rateLimitPerMin: ctx.config.API_RATE_LIMIT_PER_MIN,
    streams: { perToken: ctx.config.STREAM_MAX_PER_TOKEN, total: ctx.config.STREAM_MAX_TOTAL },
    ...(ctx.config.CORS_ORIGINS ? { corsOrigins: ctx.config.CORS_ORIGINS } : {}),
    // The ingest of this process (embedded pipeline) registers its store once it starts.
    credentials: () => storeFor(ctx.config),
    registry: {
      registry: ctx.registry,
      feed: ctx.registryFeed,
      audit,
      ...(pending ? { pending } : {}),
      importMaxBytes: ctx.config.REGISTRY_IMPORT_MAX_BYTES,
      // The file the broker reads: this process's broker (embedded) reloads at once, another within 5 s.
      ...(ctx.config.MQTT_AUTH === 'on' && ctx.config.MQTT_CREDENTIALS
        ? { credentials: new CredentialFile(ctx.config.MQTT_CREDENTIALS, async () => storeFor(ctx.config)?.reload()) }
        : {}),
    },
  });
  await api.listen({ host: ctx.config.HTTP_HOST, port: ctx.config.HTTP_PORT });
  return {
    port: (api.server.address() as AddressInfo).port,
    aggregator,
    async close() {
      await api.close();
      await audit.stop();
      await pending?.stop();
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
 * readings to InfluxDB (INFLUX_*), alerts to Alertmanager (ALERTMANAGER_URL), alert events as
 * Grafana annotations (GRAFANA_URL).
 */
export async function startSinks(ctx: StageContext): Promise<Stage & { names: string[] }> {
  const parts: Stage[] = [];
  const names: string[] = [];
  if (ctx.config.INFLUX_URL) {
    parts.push(await startInfluxSink(ctx, influxTimings(ctx.config)));
    names.push('influxdb');
  }
  if (ctx.config.ALERTMANAGER_URL) {
    const notifier = await startAlertmanagerNotifier({
      transport: ctx.transport,
      metrics: ctx.metrics,
      logger: ctx.logger.child({ stage: 'notifier' }),
      url: ctx.config.ALERTMANAGER_URL,
      ...alertmanagerTimings(ctx.config),
    });
    parts.push({ close: () => notifier.stop() });
    names.push('alertmanager');
  }
  if (ctx.config.GRAFANA_URL) {
    // A log that starts with the process is read from the beginning; a durable one (Kafka) only for new changes (history is in InfluxDB).
    const annotator = await startGrafanaAnnotator({
      transport: ctx.transport,
      logger: ctx.logger.child({ stage: 'annotations' }),
      url: ctx.config.GRAFANA_URL,
      token: ctx.config.GRAFANA_TOKEN,
      fromBeginning: !ctx.transport.durable,
      ...grafanaTimings(ctx.config),
    });
    parts.push({ close: () => annotator.stop() });
    names.push('grafana');
  }
  return {
    names,
    async close() {
      for (const part of parts) await part.close();
    },
  };
}

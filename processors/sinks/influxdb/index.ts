import type { Logger } from 'pino';
import type { Batch, Config, Consumer, NodeRegistry, PipelineMetrics, StreamTransport } from '../../../core/index.js';
import { SINK_TOPICS, toPoints } from './points.js';
import { InfluxWriter, type InfluxWriterOptions } from './writer.js';

export { MEASUREMENTS, SINK_TOPICS, toPoints, type Converted, type Measurement, type SinkPoint } from './points.js';
export { InfluxWriteError, InfluxWriter, type InfluxWriterOptions } from './writer.js';

/** The sink's own consumer group: its position on every topic is independent of the processors'. */
export const INFLUX_SINK_GROUP = 'citybrain-sink-influxdb';

/** What the sink needs from a stage context (bin/stages.ts `StageContext` fits as it is). */
export interface InfluxSinkContext {
  config: Pick<Config, 'INFLUX_URL' | 'INFLUX_TOKEN' | 'INFLUX_ORG' | 'INFLUX_BUCKET'>;
  /** Names the well / station of a raw reading's node; without it those tags are left out. */
  registry?: NodeRegistry;
  transport: StreamTransport;
  metrics: PipelineMetrics;
  logger: Logger;
}

export interface InfluxSinkOptions extends Omit<InfluxWriterOptions, 'metrics' | 'logger'> {
  /** Default `citybrain-sink-influxdb`. */
  groupId?: string;
  /** Largest number of log records per batch (default 2000). */
  maxBatchSize?: number;
  /** Where a group without a committed position starts (default true: everything the log retains). */
  fromBeginning?: boolean;
}

/**
 * Consumes `metrics.*`, `alerts` and `telemetry.raw` (groundwater and noise readings only) and writes
 * them to InfluxDB. A batch's position is committed only after InfluxDB accepted all its points:
 * `onBatch` converts, writes, awaits the write and throws when it failed after bounded retries, so
 * the log delivers the batch again. Points carry event time, so redelivery overwrites, never adds.
 */
export class InfluxSink {
  readonly #ctx: InfluxSinkContext;
  readonly #o: InfluxSinkOptions;
  readonly #writer: InfluxWriter;
  readonly #logger: Logger;
  #consumer: Consumer | null = null;

  constructor(ctx: InfluxSinkContext, options: InfluxSinkOptions) {
    this.#ctx = ctx;
    this.#o = options;
    this.#logger = ctx.logger.child({ stage: 'sink-influxdb' });
    this.#writer = new InfluxWriter({ ...options, metrics: ctx.metrics, logger: this.#logger });
  }

  async start(): Promise<void> {
    this.#consumer = await this.#ctx.transport.consume({
      groupId: this.#o.groupId ?? INFLUX_SINK_GROUP,
      topics: [...SINK_TOPICS],
      fromBeginning: this.#o.fromBeginning ?? true,
      maxBatchSize: this.#o.maxBatchSize ?? 2000,
      onBatch: (batch) => this.#onBatch(batch),
    });
    this.#logger.info({ url: this.#o.url, bucket: this.#o.bucket, topics: SINK_TOPICS }, 'InfluxDB sink running');
  }

  async #onBatch(batch: Batch): Promise<void> {
    const { points, skipped } = toPoints(batch.topic, batch.records, this.#ctx.registry);
    if (skipped > 0) {
      this.#ctx.metrics.sinkRecordsSkipped.inc({ topic: batch.topic }, skipped);
      this.#logger.warn({ topic: batch.topic, partition: batch.partition, skipped }, 'unreadable records or KPI rows skipped');
    }
    if (points.length > 0) await this.#writer.write(points);
  }

  /** Records not yet written, per topic. */
  lag(): Promise<Record<string, number>> {
    return this.#consumer ? this.#consumer.lag() : Promise.resolve({});
  }

  /** Stops retrying a failing write (that batch stays uncommitted), finishes the batch in flight and leaves the group. */
  async stop(): Promise<void> {
    this.#writer.close();
    await this.#consumer?.stop();
    this.#consumer = null;
  }
}

/**
 * The sink as a stage, configured from INFLUX_URL / INFLUX_TOKEN / INFLUX_ORG / INFLUX_BUCKET
 * (config validation already requires all four when INFLUX_URL is set); `options` override them.
 */
export async function startInfluxSink(ctx: InfluxSinkContext, options: Partial<InfluxSinkOptions> = {}): Promise<{ sink: InfluxSink; close(): Promise<void> }> {
  const { INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET } = ctx.config;
  const url = options.url ?? INFLUX_URL;
  const bucket = options.bucket ?? INFLUX_BUCKET;
  if (!url || !bucket) throw new Error('InfluxDB sink: INFLUX_URL and INFLUX_BUCKET are required');
  const sink = new InfluxSink(ctx, { ...options, url: url.replace(/\/+$/, ''), bucket, token: options.token ?? INFLUX_TOKEN ?? '', org: options.org ?? INFLUX_ORG ?? '' });
  await sink.start();
  return { sink, close: () => sink.stop() };
}

import type { Logger } from 'pino';
import {
  withDefaults,
  type Batch,
  type Config,
  type Consumer,
  type NodeRegistry,
  type PipelineMetrics,
  type StreamTransport,
} from '../../../core/index.js';
import { sinkSchema, sinkTopics, toPoints } from './points.js';
import { ensureRollups, influxVersion, isInflux1, kindRollups } from './rollups.js';
import { InfluxWriter, type InfluxWriterOptions } from './writer.js';

export {
  PIPELINE_MEASUREMENTS,
  sinkSchema,
  sinkTopics,
  toPoints,
  type Converted,
  type MeasurementSchema,
  type SinkPoint,
} from './points.js';
export { PointBuilder, type Measurements } from './builder.js';
export { profileMeasurementNames, profileMeasurements, profileRollupFields } from './profile.js';
export { InfluxWriteError, InfluxWriter, INFLUX_WRITER_DEFAULTS, type InfluxWriterOptions } from './writer.js';
export {
  ensureRollups,
  influxVersion,
  isInflux1,
  rollupBackfillQuery,
  kindRollups,
  PIPELINE_ROLLUPS,
  ROLLUPS,
  ROLLUP_DEFAULTS,
  type EnsureRollupsOptions,
  type RollupsResult,
} from './rollups.js';

/** The sink's own consumer group: its position on every topic is independent of the processors'. */
export const INFLUX_SINK_GROUP = 'citybrain-sink-influxdb';

/** The sink's defaults (the writer has its own). */
export const INFLUX_SINK_DEFAULTS = {
  groupId: INFLUX_SINK_GROUP,
  maxBatchSize: 2000,
  fromBeginning: true,
  rollups: true,
  rawRetention: '30d',
  rollupRetryMs: 30_000,
};

/** What the sink needs from a stage context (bin/stages.ts `StageContext` fits as it is). */
export interface InfluxSinkContext {
  config: Pick<Config, 'INFLUX_URL' | 'INFLUX_TOKEN' | 'INFLUX_ORG' | 'INFLUX_BUCKET'>;
  /** Its kind catalog says what is written; its nodes name the well / station of a reading and place alerts. */
  registry: NodeRegistry;
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
  /**
   * On InfluxDB 1.x (GET /ping `X-Influxdb-Version: 1.*`), set up retention policies and continuous
   * queries at start (see rollups.ts); in the background, retried every `rollupRetryMs` (30 s) until
   * it worked. Default true; never done on 2.x/3.x.
   */
  rollups?: boolean;
  /** Retention of the raw RP (the bucket's RP) set by the rollup setup; default `30d` (`INF`: keep forever). */
  rawRetention?: string;
  rollupRetryMs?: number;
}

/**
 * Consumes `metrics.*`, `alerts` and `telemetry.raw` (the readings of kinds that keep them) and writes
 * them to InfluxDB. A batch's position is committed only after InfluxDB accepted all its points:
 * `onBatch` converts, writes, awaits the write and throws when it failed after bounded retries, so
 * the log delivers the batch again. Points carry event time, so redelivery overwrites, never adds.
 */
export class InfluxSink {
  readonly #ctx: InfluxSinkContext;
  readonly #o: InfluxSinkOptions & typeof INFLUX_SINK_DEFAULTS;
  readonly #writer: InfluxWriter;
  readonly #logger: Logger;
  #consumer: Consumer | null = null;
  #stopping = false;
  #rollupTimer: NodeJS.Timeout | null = null;
  readonly #kinds: NodeRegistry['kinds'];

  /** Throws when two kinds' measurements clash (see `sinkSchema`). */
  constructor(ctx: InfluxSinkContext, options: InfluxSinkOptions) {
    this.#ctx = ctx;
    this.#o = { ...options, ...withDefaults(INFLUX_SINK_DEFAULTS, options) };
    this.#kinds = ctx.registry.kinds;
    sinkSchema(this.#kinds);
    this.#logger = ctx.logger.child({ stage: 'sink-influxdb' });
    this.#writer = new InfluxWriter({ ...options, metrics: ctx.metrics, logger: this.#logger });
  }

  async start(): Promise<void> {
    this.#consumer = await this.#ctx.transport.consume({
      groupId: this.#o.groupId,
      topics: sinkTopics(this.#kinds),
      fromBeginning: this.#o.fromBeginning,
      maxBatchSize: this.#o.maxBatchSize,
      onBatch: (batch) => this.#onBatch(batch),
    });
    this.#logger.info({ url: this.#o.url, bucket: this.#o.bucket, topics: sinkTopics(this.#kinds) }, 'InfluxDB sink running');
    if (this.#o.rollups) void this.#setupRollups();
  }

  /** Resolves once the rollup setup is done (or skipped: not 1.x, disabled); for tests and tooling. */
  #rollupsDone: () => void = () => {};
  rollupsReady: Promise<void> = new Promise((resolve) => (this.#rollupsDone = resolve));

  /** Best effort, in the background: writing points never waits for it, a failure is retried later. */
  async #setupRollups(): Promise<void> {
    if (this.#stopping) return;
    const [database = '', rawPolicy = 'autogen'] = this.#o.bucket.split('/', 2);
    try {
      const version = await influxVersion(this.#o.url);
      if (!isInflux1(version)) {
        this.#logger.info(
          { version },
          'InfluxDB is not 1.x: retention policies / continuous queries not set up (use bucket retention and tasks)',
        );
        this.#rollupsDone();
        return;
      }
      const result = await ensureRollups({
        url: this.#o.url,
        token: this.#o.token,
        database,
        rawPolicy,
        rawDuration: this.#o.rawRetention,
        measurements: kindRollups(this.#kinds),
      });
      this.#logger.info(
        { version, database, created: result.created, altered: result.altered, unchanged: result.unchanged.length },
        'InfluxDB 1.x rollups ready (retention policies, continuous queries)',
      );
      this.#rollupsDone();
    } catch (error) {
      if (this.#stopping) return;
      const retryMs = this.#o.rollupRetryMs;
      this.#logger.warn({ err: error, retryInMs: retryMs }, 'InfluxDB rollup setup failed; retrying');
      this.#rollupTimer = setTimeout(() => void this.#setupRollups(), retryMs);
      this.#rollupTimer.unref();
    }
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
    this.#stopping = true;
    if (this.#rollupTimer) clearTimeout(this.#rollupTimer);
    this.#writer.close();
    await this.#consumer?.stop();
    this.#consumer = null;
  }
}

/**
 * The sink as a stage, configured from INFLUX_URL / INFLUX_TOKEN / INFLUX_ORG / INFLUX_BUCKET
 * (config validation already requires all four when INFLUX_URL is set); `options` override them.
 */
export async function startInfluxSink(
  ctx: InfluxSinkContext,
  options: Partial<InfluxSinkOptions> = {},
): Promise<{ sink: InfluxSink; close(): Promise<void> }> {
  const { INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET } = ctx.config;
  const url = options.url ?? INFLUX_URL;
  const bucket = options.bucket ?? INFLUX_BUCKET;
  if (!url || !bucket) throw new Error('InfluxDB sink: INFLUX_URL and INFLUX_BUCKET are required');
  const sink = new InfluxSink(ctx, {
    ...options,
    url: url.replace(/\/+$/, ''),
    bucket,
    token: options.token ?? INFLUX_TOKEN ?? '',
    org: options.org ?? INFLUX_ORG ?? '',
  });
  await sink.start();
  return { sink, close: () => sink.stop() };
}

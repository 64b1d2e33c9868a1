import { HttpError, InfluxDB, Point, setLogger } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { withDefaults, type PipelineMetrics } from '../../../core/index.js';
import type { SinkPoint } from './points.js';
import { InfluxWriteError } from '../../../core/errors.js';

export interface InfluxWriterOptions {
  /** `http://host:8086` */
  url: string;
  /** 1.x: `user:password` (ignored when the server runs without auth); 2.x: an API token. */
  token: string;
  /** Ignored by 1.x. */
  org: string;
  /** 1.x: `database/retention-policy`; 2.x: the bucket. */
  bucket: string;
  /** Most lines in one HTTP write (default 5000). */
  linesPerWrite?: number;
  /** Per HTTP request (default 10 s). */
  timeoutMs?: number;
  /** How long `write` keeps retrying a failing write before it rejects (default 15 s). */
  retryWithinMs?: number;
  /** Backoff between attempts: doubles from min to max, with jitter (defaults 250 ms .. 5 s). */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  metrics: PipelineMetrics;
  logger: Logger;
}

/** The writer's defaults. */
export const INFLUX_WRITER_DEFAULTS = {
  linesPerWrite: 5000,
  timeoutMs: 10_000,
  retryWithinMs: 15_000,
  minRetryDelayMs: 250,
  maxRetryDelayMs: 5000,
};

export type WriteErrorCause = 'unreachable' | 'server' | 'client' | 'rejected';

/** A write that failed after its retries; the caller lets the log redeliver the batch. */
export { InfluxWriteError };

function causeOf(error: unknown): WriteErrorCause {
  if (error instanceof HttpError) {
    if (error.statusCode === 400) return 'rejected';
    return error.statusCode >= 500 || error.statusCode === 429 ? 'server' : 'client';
  }
  return 'unreachable';
}

let clientLogger: Logger | null = null;
/** The client logs failed writes to the console itself; route that to our logger at debug (we log the outcome). */
function routeClientLog(logger: Logger): void {
  if (clientLogger) return;
  clientLogger = logger;
  setLogger({
    error: (message, error) => clientLogger?.debug({ err: error }, `influxdb-client: ${message}`),
    warn: (message, error) => clientLogger?.debug({ err: error }, `influxdb-client: ${message}`),
  });
}

/**
 * Writes points with the official client and resolves only once InfluxDB accepted every one of
 * them (HTTP 204). The client's own background retry buffer is off (`maxRetries: 0`): retries happen
 * here, in the caller's await, with bounded backoff, so a failure surfaces as a rejection (and the
 * log redelivers the batch) instead of being retried, or dropped, out of sight.
 *
 * HTTP 400 is the one exception: InfluxDB refused the points themselves (bad line protocol, field
 * type conflict; on a partial write the valid ones are stored). Retrying cannot help and would stall
 * the sink for good, so those points are counted in `citybrain_sink_points_rejected_total`, logged
 * at error level, and the write resolves.
 */
export class InfluxWriter {
  readonly #o: InfluxWriterOptions & typeof INFLUX_WRITER_DEFAULTS;
  readonly #influx: InfluxDB;
  #closed = false;
  #wake: (() => void) | null = null;

  constructor(options: InfluxWriterOptions) {
    this.#o = { ...options, ...withDefaults(INFLUX_WRITER_DEFAULTS, options) };
    this.#influx = new InfluxDB({ url: options.url, token: options.token, timeout: this.#o.timeoutMs });
    routeClientLog(options.logger);
  }

  /** Makes a `write` in progress stop retrying (it rejects at its next attempt boundary). */
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async write(points: readonly SinkPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i += this.#o.linesPerWrite) await this.#writeChunk(points.slice(i, i + this.#o.linesPerWrite));
  }

  async #writeChunk(points: readonly SinkPoint[]): Promise<void> {
    const lines = points.map(toLine);
    const started = Date.now();
    let delay = this.#o.minRetryDelayMs;
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new InfluxWriteError('InfluxDB sink is stopping; the batch stays uncommitted', null);
      try {
        await this.#send(lines);
        for (const [measurement, n] of countBy(points)) this.#o.metrics.sinkPointsWritten.inc({ measurement }, n);
        if (attempt > 1) this.#o.logger.info({ attempt, points: points.length }, 'InfluxDB write succeeded after retries');
        return;
      } catch (error) {
        const cause = causeOf(error);
        this.#o.metrics.sinkWriteErrors.inc({ cause });
        if (cause === 'rejected') {
          for (const [measurement, n] of countBy(points)) this.#o.metrics.sinkPointsRejected.inc({ measurement }, n);
          this.#o.logger.error(
            { err: error, points: points.length, first: lines[0]?.slice(0, 300) },
            'InfluxDB refused points as invalid (HTTP 400); they are dropped, the rest of the stream goes on',
          );
          return;
        }
        const elapsed = Date.now() - started;
        if (elapsed + delay > this.#o.retryWithinMs) {
          throw new InfluxWriteError(
            `InfluxDB write of ${points.length} points failed ${attempt} times within ${Math.round(elapsed / 1000)} s (${cause}): ${(error as Error).message}`,
            error,
          );
        }
        this.#o.logger.warn({ err: error, cause, attempt, retryInMs: delay }, 'InfluxDB write failed; retrying');
        await this.#sleep(delay * (0.75 + Math.random() * 0.5));
        delay = Math.min(delay * 2, this.#o.maxRetryDelayMs);
      }
    }
  }

  /** One HTTP write through the client: a fresh WriteApi per write, so no state outlives a failure. */
  async #send(lines: string[]): Promise<void> {
    const api = this.#influx.getWriteApi(this.#o.org, this.#o.bucket, 'ns', {
      batchSize: lines.length + 1, // never an automatic (fire-and-forget) flush: only close() below sends
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: lines.length + 1,
    });
    api.writeRecords(lines);
    await api.close(); // flushes; rejects when InfluxDB did not accept the lines
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => ((this.#wake = null), resolve()), ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }
}

function toLine(p: SinkPoint): string {
  const point = new Point(p.measurement);
  for (const [k, v] of Object.entries(p.tags)) point.tag(k, v);
  for (const [k, v] of Object.entries(p.fields)) {
    if (typeof v === 'number') point.floatField(k, v);
    else if (typeof v === 'boolean') point.booleanField(k, v);
    else point.stringField(k, v);
  }
  point.timestamp(p.time);
  const line = point.toLineProtocol();
  if (!line) throw new Error(`point of ${p.measurement} has no fields`);
  return line;
}

function countBy(points: readonly SinkPoint[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of points) counts.set(p.measurement, (counts.get(p.measurement) ?? 0) + 1);
  return counts;
}

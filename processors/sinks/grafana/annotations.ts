/**
 * Alert events as Grafana annotations: reads the `alerts` topic (every alert state change, written by
 * the aggregator) with its own consumer group and posts one annotation per state change to
 * `POST ${GRAFANA_URL}/api/annotations` (bearer GRAFANA_TOKEN):
 * - firing: a point at `firedAt`; acknowledged: a point at `acknowledgedAt`;
 * - resolved: a region from `firedAt` to `resolvedAt` (the whole outage on the time axis);
 * - tags: `city-brain`, the alertname, district, kind, severity and state, so each dashboard shows
 *   its kind's events (dashboards/common.ts `alertAnnotations`). Organisation-wide annotations
 *   (no dashboard uid): every dashboard whose annotation query matches the tags shows them.
 *
 * At-least-once like the other sinks: a batch's position is committed only after Grafana accepted its
 * annotations; while Grafana is away the post is retried with backoff, then the batch is redelivered.
 * A change already posted by this process is not posted again (a redelivered batch adds nothing).
 * Grafana refusing an annotation as invalid (4xx other than 408/429) drops it with an error log.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { parseJson, pipelineTopicSpecs, TOPICS, withDefaults, type Alert, type Consumer, type StreamTransport } from '../../../core/index.js';
import { HttpError, retriable } from '../../../core/errors.js';

export const GRAFANA_SINK_GROUP = 'citybrain-sink-grafana';
/** Every annotation carries this tag (the dashboards' annotation queries select it). */
export const ANNOTATION_TAG = 'city-brain';

export interface GrafanaAnnotation {
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
}

/** The annotation for one alert state change. */
export function toAnnotation(alert: Alert): GrafanaAnnotation {
  const { kind, district } = alert.labels;
  const tags = [ANNOTATION_TAG, alert.alertname, district, kind, alert.severity, alert.state].filter((t): t is string => typeof t === 'string' && t !== '');
  const head = `${alert.alertname} ${alert.state}`;
  const text = `<b>${escapeHtml(head)}</b>: ${escapeHtml(alert.summary)}${alert.acknowledgedBy && alert.state === 'acknowledged' ? ` (by ${escapeHtml(alert.acknowledgedBy)})` : ''}`;
  if (alert.state === 'resolved') {
    const end = alert.resolvedAt ?? alert.updatedAt;
    return { time: Math.min(alert.firedAt, end), timeEnd: end, tags, text };
  }
  const time = alert.state === 'acknowledged' ? (alert.acknowledgedAt ?? alert.updatedAt) : alert.firedAt;
  return { time, tags, text };
}

/**
 * The Authorization header for GRAFANA_TOKEN: a service-account token (`glsa_...`) as a bearer token,
 * or `user:password` (e.g. the compose file's admin:admin) as basic auth.
 */
export function grafanaAuthorization(token: string | undefined): string | undefined {
  if (!token) return undefined;
  return token.includes(':') ? `Basic ${Buffer.from(token).toString('base64')}` : `Bearer ${token}`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface GrafanaAnnotatorOptions {
  transport: StreamTransport;
  logger: Logger;
  /** GRAFANA_URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** GRAFANA_TOKEN: a service-account token allowed to write annotations (or `user:password`). */
  token?: string;
  groupId?: string;
  /** Where a group without a committed position starts; default false (only new changes: history is in InfluxDB). */
  fromBeginning?: boolean;
  requestTimeoutMs?: number;
  /** How long one annotation is retried before the batch is given back to the log; default 15 s. */
  retryWithinMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface GrafanaAnnotator {
  stop(): Promise<void>;
  /** Annotations Grafana accepted, and dropped as invalid, since start. */
  stats(): { posted: number; dropped: number };
}

/** Remembered changes at most (then the oldest are forgotten): only guards against re-posting a redelivered batch. */
const SEEN_MAX = 50_000;

/** The annotator's defaults. */
export const ANNOTATOR_DEFAULTS = {
  groupId: GRAFANA_SINK_GROUP,
  fromBeginning: false,
  requestTimeoutMs: 10_000,
  retryWithinMs: 15_000,
  retryMinMs: 250,
  retryMaxMs: 5_000,
};

export async function startGrafanaAnnotator(options: GrafanaAnnotatorOptions): Promise<GrafanaAnnotator> {
  const url = `${options.url.replace(/\/+$/, '')}/api/annotations`;
  const log = options.logger.child({ sink: 'grafana' });
  const {
    groupId,
    fromBeginning,
    requestTimeoutMs: timeoutMs,
    retryWithinMs,
    retryMinMs,
    retryMaxMs,
  } = withDefaults(ANNOTATOR_DEFAULTS, options);
  const seen = new Set<string>();
  const stats = { posted: 0, dropped: 0 };
  let stopping = false;

  async function post(annotation: GrafanaAnnotation): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = grafanaAuthorization(options.token);
    if (auth) headers.authorization = auth;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(annotation), signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    if (!response.ok) throw new HttpError('Grafana', response.status, text);
  }

  async function deliver(alert: Alert): Promise<void> {
    const started = Date.now();
    let delay = retryMinMs;
    for (;;) {
      try {
        await post(toAnnotation(alert));
        stats.posted++;
        return;
      } catch (error) {
        if (!retriable(error)) {
          stats.dropped++;
          log.error({ err: error, alertname: alert.alertname, id: alert.id, state: alert.state }, 'Grafana refused an annotation as invalid; dropped');
          return;
        }
        if (stopping || Date.now() - started + delay > retryWithinMs) throw error; // the log delivers the batch again
        log.warn({ err: error, retryInMs: delay }, 'could not post an annotation to Grafana; retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, retryMaxMs);
      }
    }
  }

  await options.transport.ensureTopics(pipelineTopicSpecs().filter((s) => s.name === TOPICS.alerts));
  const consumer: Consumer = await options.transport.consume({
    groupId,
    topics: [TOPICS.alerts],
    fromBeginning,
    onBatch: async (batch) => {
      for (const record of batch.records) {
        const alert = parseJson(record.value) as Alert | undefined;
        if (!alert?.id || !alert.alertname || !alert.state || typeof alert.firedAt !== 'number') continue;
        // One annotation per state change: the aggregator may rewrite an alert without a state change.
        const key = `${alert.id}:${alert.state}:${alert.state === 'resolved' ? alert.resolvedAt : alert.state === 'acknowledged' ? alert.acknowledgedAt : alert.firedAt}`;
        if (seen.has(key)) continue;
        await deliver(alert);
        seen.add(key);
        if (seen.size > SEEN_MAX) seen.delete(seen.values().next().value as string);
      }
    },
  });
  log.info({ url }, 'Grafana annotation notifier started');
  return {
    stats: () => ({ ...stats }),
    async stop() {
      stopping = true;
      await consumer.stop();
    },
  };
}

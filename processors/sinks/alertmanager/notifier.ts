/**
 * Alert delivery: reads the compacted `alerts` topic (the aggregator writes every alert state change
 * there, keyed by alert id) with its own consumer group and posts the alerts to Alertmanager's v2 API
 * (`POST ${url}/api/v2/alerts`):
 * - labels = the alert's labels (alertname, severity, kind, district and the subject: the contract
 *   crews route on), annotations `{ summary, id }`, startsAt;
 * - firing and acknowledged alerts get endsAt = now + 4 x resendInterval and are re-sent every
 *   resendInterval, so Alertmanager keeps them while they last and times them out if we go away;
 * - resolved alerts get endsAt = resolvedAt (never later than now), once delivered they are forgotten.
 *
 * Delivery never blocks the log: a change is taken into memory (the latest state per alert id) and
 * its position committed; a loop posts what is pending, and while Alertmanager is away it retries
 * with exponential backoff, always with each alert's latest state: no state change is dropped, only
 * superseded. After a restart the group's retained records are replayed (`rebuildOnAssign`; on Kafka
 * the compacted topic still holds every alert's latest state), so active alerts are sent again.
 */
import type { Logger } from 'pino';
import {
  parseJson,
  TOPICS,
  pipelineTopicSpecs,
  withDefaults,
  type Alert,
  type Consumer,
  type PipelineMetrics,
  type StreamTransport,
} from '../../../core/index.js';
import { HttpError, retriable } from '../../../core/errors.js';

export const ALERTMANAGER_SINK_GROUP = 'citybrain-sink-alertmanager';

export interface AlertmanagerNotifierOptions {
  transport: StreamTransport;
  metrics: PipelineMetrics;
  logger: Logger;
  /** Alertmanager's base URL (ALERTMANAGER_URL), e.g. `http://127.0.0.1:9093`. */
  url: string;
  /** How often active alerts are re-sent (ALERTMANAGER_RESEND_S); default 60 s. Their endsAt is now + 4 x this. */
  resendIntervalMs?: number;
  /** Retry backoff after a failed post: starts at min, doubles up to max. Defaults 500 ms, 30 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Timeout of one POST; default 10 s. */
  requestTimeoutMs?: number;
  /** Alerts per POST; default 500. */
  maxBatch?: number;
  /** On start-up replay, resolved alerts older than this are not sent again; default 1 h. */
  replayResolvedMaxAgeMs?: number;
  /** Consumer group; default `citybrain-sink-alertmanager`. */
  groupId?: string;
  /** Wall clock; default Date.now. */
  now?: () => number;
}

export interface AlertmanagerNotifier {
  /** Stops reading, makes one last attempt (bounded) to deliver what is pending, and ends the loop. */
  stop(): Promise<void>;
  /** Alert ids whose latest state Alertmanager has not accepted yet. */
  pending(): number;
}

/** One element of Alertmanager's `POST /api/v2/alerts` body (postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** The Alertmanager form of an alert at wall time `now`. */
export function toPostableAlert(alert: Alert, now: number, resendIntervalMs: number): PostableAlert {
  const labels: Record<string, string> = {};
  const all: Record<string, string> = { ...alert.labels, alertname: alert.alertname, severity: alert.severity };
  for (const [k, v] of Object.entries(all)) {
    if (typeof v === 'string' && v !== '') labels[k] = v;
  }
  // Alert times are the city's event time; Alertmanager judges by its wall clock: a resolved alert
  // must not end in the future (it would stay active) and must not start after it ends.
  const endsAt = alert.state === 'resolved' ? Math.min(alert.resolvedAt ?? alert.updatedAt, now) : now + 4 * resendIntervalMs;
  const startsAt = Math.min(alert.startsAt ?? alert.firedAt, endsAt);
  return {
    labels,
    annotations: { summary: alert.summary, id: alert.id },
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
  };
}

/** The notifier's defaults. */
export const NOTIFIER_DEFAULTS = {
  resendIntervalMs: 60_000,
  retryMinMs: 500,
  retryMaxMs: 30_000,
  requestTimeoutMs: 10_000,
  maxBatch: 500,
  replayResolvedMaxAgeMs: 3_600_000,
  groupId: ALERTMANAGER_SINK_GROUP,
  now: Date.now,
};

export async function startAlertmanagerNotifier(options: AlertmanagerNotifierOptions): Promise<AlertmanagerNotifier> {
  const { transport, metrics, logger } = options;
  const url = `${options.url.replace(/\/+$/, '')}/api/v2/alerts`;
  const { resendIntervalMs, retryMinMs, retryMaxMs, requestTimeoutMs, maxBatch, replayResolvedMaxAgeMs, groupId, now } = withDefaults(
    NOTIFIER_DEFAULTS,
    options,
  );
  const log = logger.child({ sink: 'alertmanager' });

  /** Latest state per alert id: active ones, and resolved ones until delivered. */
  const alerts = new Map<string, Alert>();
  /** Alert id -> mark; a delivery clears an id only if it was not marked again meanwhile. */
  const pending = new Map<string, number>();
  let mark = 0;
  let stopping = false;
  let wake: (() => void) | null = null;
  const kick = () => {
    wake?.();
    wake = null;
  };
  const markPending = (id: string) => pending.set(id, ++mark);

  async function post(batch: Alert[]): Promise<void> {
    const at = now();
    const body = JSON.stringify(batch.map((a) => toPostableAlert(a, at, resendIntervalMs)));
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new HttpError('Alertmanager', response.status, text);
  }

  function delivered(batch: Alert[], marks: Map<string, number>): void {
    for (const alert of batch) {
      metrics.notifierSent.inc({ state: alert.state });
      if (pending.get(alert.id) !== marks.get(alert.id)) continue; // changed (or re-marked) meanwhile
      pending.delete(alert.id);
      if (alert.state === 'resolved' && alerts.get(alert.id) === alert) alerts.delete(alert.id);
    }
  }

  /** Posts everything pending (in batches). Throws when Alertmanager cannot be reached or fails. */
  async function flush(): Promise<void> {
    while (pending.size > 0) {
      const marks = new Map([...pending].slice(0, maxBatch));
      const batch = [...marks.keys()].flatMap((id) => {
        const alert = alerts.get(id);
        if (!alert) pending.delete(id);
        return alert ? [alert] : [];
      });
      if (batch.length === 0) continue;
      try {
        await post(batch);
        delivered(batch, marks);
      } catch (error) {
        // 400/422: Alertmanager refused the body. Find the invalid alerts one by one, drop only those.
        if (retriable(error)) throw error;
        if (batch.length === 1) {
          metrics.notifierErrors.inc({ cause: 'rejected' });
          log.error(
            { err: error, alert: batch[0]!.alertname, id: batch[0]!.id, labels: batch[0]!.labels },
            'Alertmanager refused an alert as invalid; dropped',
          );
          if (pending.get(batch[0]!.id) === marks.get(batch[0]!.id)) pending.delete(batch[0]!.id);
          continue;
        }
        for (const alert of batch) {
          try {
            await post([alert]);
            delivered([alert], marks);
          } catch (single) {
            if (retriable(single)) throw single;
            metrics.notifierErrors.inc({ cause: 'rejected' });
            log.error(
              { err: single, alert: alert.alertname, id: alert.id, labels: alert.labels },
              'Alertmanager refused an alert as invalid; dropped',
            );
            if (pending.get(alert.id) === marks.get(alert.id)) pending.delete(alert.id);
          }
        }
      }
    }
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function loop(): Promise<void> {
    let backoff = retryMinMs;
    let failing = false;
    while (!stopping) {
      if (pending.size === 0) {
        await sleep(resendIntervalMs);
        continue;
      }
      try {
        await flush();
        if (failing) log.info('Alertmanager reachable again; pending alerts delivered');
        failing = false;
        backoff = retryMinMs;
      } catch (error) {
        const cause = error instanceof HttpError ? `http_${error.status}` : 'unreachable';
        metrics.notifierErrors.inc({ cause });
        (failing ? log.debug.bind(log) : log.warn.bind(log))(
          { err: error, pending: pending.size, retryInMs: backoff },
          'could not post alerts to Alertmanager; retrying',
        );
        failing = true;
        const wait = backoff;
        backoff = Math.min(backoff * 2, retryMaxMs);
        // Wait out the backoff even if new changes arrive (they are simply pending too).
        const until = Date.now() + wait;
        while (!stopping && Date.now() < until) await sleep(until - Date.now());
      }
    }
  }

  await transport.ensureTopics(pipelineTopicSpecs().filter((s) => s.name === TOPICS.alerts));
  const consumer: Consumer = await transport.consume({
    groupId,
    topics: [TOPICS.alerts],
    fromBeginning: true,
    rebuildOnAssign: true,
    onBatch: async (batch) => {
      for (const record of batch.records) {
        const alert = parseJson(record.value) as Alert | undefined;
        if (!alert?.id || !alert.alertname || !alert.state) continue;
        if (batch.replay && alert.state === 'resolved' && (alert.resolvedAt ?? alert.updatedAt) < now() - replayResolvedMaxAgeMs) {
          if (alerts.get(alert.id)?.state === 'resolved') alerts.delete(alert.id);
          continue;
        }
        alerts.set(alert.id, alert);
        markPending(alert.id);
      }
      kick();
    },
  });

  const resend = setInterval(() => {
    for (const alert of alerts.values()) if (alert.state !== 'resolved' && !pending.has(alert.id)) markPending(alert.id);
    kick();
  }, resendIntervalMs);
  resend.unref();

  const running = loop();
  let stopped: Promise<void> | null = null;
  log.info({ url, resendIntervalMs }, 'Alertmanager notifier started');

  return {
    pending: () => pending.size,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(resend);
        await consumer.stop();
        stopping = true;
        kick();
        await running;
        if (pending.size === 0) return;
        try {
          await flush();
        } catch (error) {
          metrics.notifierErrors.inc({ cause: error instanceof HttpError ? `http_${error.status}` : 'unreachable' });
          log.warn(
            { err: error, pending: pending.size },
            'Alertmanager notifier stopped with undelivered alert changes (sent again after a restart while the log retains them)',
          );
        }
      })()),
  };
}

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  parseJson,
  TOPICS,
  type AckResult,
  type Alert,
  type AlertState,
  type Consumer,
  type KindCatalog,
  type Kpis,
  type PipelineEvent,
  type StreamRecord,
  type StreamTransport,
} from '../../core/index.js';
import { EPOCH_HEADER, INSTANCE_HEADER } from '../aggregator.js';
import { EVALUATOR_DEFAULTS } from '../alerts/evaluator.js';
import { Listeners } from '../ticker.js';
import { parseControl } from './commands.js';
import { MetricsSection, type MetricsRecordValue } from './metrics-section.js';

export interface PublishedViewOptions {
  transport: StreamTransport;
  kinds: KindCatalog;
  logger: Logger;
}

/**
 * The KPIs and alerts as the aggregating `api` instance published them: each section assembled
 * from the compacted `metrics.*` topics (read from the beginning: the latest summary, keyed
 * `city`, and the latest record of each list entry, keyed `<item>:<id>`; see
 * metrics-publisher.ts), every alert of the compacted `alerts` topic (read from the beginning),
 * and the answers to alert requests on `aggregator.control`. What an instance that does not
 * aggregate serves; the metrics topics are written at a bounded rate, so its sections are as
 * recent as the metrics intervals (METRICS_*_S) allow, not as every evaluation.
 *
 * Fence: a record of an older term (epoch header) than one before it on the same topic is a
 * deposed instance's, published after its successor began; it is dropped.
 */
export class PublishedView {
  readonly #o: PublishedViewOptions;
  readonly #alerts = new Map<string, Alert>();
  /** Each metrics topic's section as read so far, with its name in /api/v1/kpis. */
  readonly #topics: Map<string, { name: string; section: MetricsSection }>;
  readonly #listeners = new Listeners<PipelineEvent>();
  readonly #waiting = new Map<string, (result: AckResult) => void>();
  readonly #consumers: Consumer[] = [];
  #kpis: Kpis | null = null;
  #evaluatedAt = -Infinity;
  readonly #epochs = new Map<string, number>();
  #dropped = 0;

  constructor(options: PublishedViewOptions) {
    this.#o = options;
    this.#topics = new Map([
      ...options.kinds
        .modules()
        .map((m): [string, { name: string; section: MetricsSection }] => [
          TOPICS.metrics(m.name),
          { name: m.section, section: new MetricsSection(m.metricsLists) },
        ]),
      [TOPICS.nodeMetrics, { name: 'nodes', section: new MetricsSection([]) }],
    ]);
  }

  async start(): Promise<void> {
    const group = (what: string) => `citybrain-api-${what}-${randomUUID()}`;
    this.#consumers.push(
      await this.#o.transport.consume({
        groupId: group('alerts'),
        topics: [TOPICS.alerts],
        fromBeginning: true,
        onBatch: async (batch) => {
          for (const r of batch.records) {
            const alert = this.#current(r) ? (parseJson(r.value) as Alert | undefined) : undefined;
            if (alert?.id) this.#put(alert);
          }
        },
      }),
      // Compacted: from the beginning, each key's latest record (the summary and every list entry).
      await this.#o.transport.consume({
        groupId: group('metrics'),
        topics: [...this.#topics.keys()],
        fromBeginning: true,
        onBatch: async (batch) => {
          const { section } = this.#topics.get(batch.topic)!;
          for (const r of batch.records) {
            const value = this.#current(r) ? (parseJson(r.value) as MetricsRecordValue | undefined) : undefined;
            // A topic gets records only when its section changed: the time of the KPIs is the latest record's, whatever its topic.
            if (section.apply(r.key, value)) this.#evaluatedAt = value!.ts as number;
          }
          this.#compose();
        },
      }),
      await this.#o.transport.consume({
        groupId: group('control'),
        topics: [TOPICS.aggregatorControl],
        fromBeginning: false,
        onBatch: async (batch) => batch.records.forEach((r) => this.#control(r)),
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.#consumers.splice(0).map((c) => c.stop()));
    for (const answer of this.#waiting.values()) answer({ ok: false, error: 'unavailable' });
    this.#waiting.clear();
  }

  /**
   * Whether the record is of the newest term seen on its topic (each is one partition, so that is
   * log order): an older term's record after a newer one's is a deposed instance's. Records without
   * the header (written before terms) count as term 0.
   */
  #current(record: StreamRecord): boolean {
    const epoch = Number(record.headers[EPOCH_HEADER] ?? 0);
    const newest = this.#epochs.get(record.topic) ?? 0;
    if (epoch < newest) {
      this.#dropped++;
      // The first of a deposed writer's burst, then every 100th, is enough to see it happen.
      if (this.#dropped % 100 === 1)
        this.#o.logger.warn(
          { topic: record.topic, epoch, newest, instance: record.headers[INSTANCE_HEADER], dropped: this.#dropped },
          "dropped a record of a deposed aggregating instance (written after its successor's first)",
        );
      return false;
    }
    this.#epochs.set(record.topic, epoch);
    return true;
  }

  /** The newest term seen on any topic: a new aggregating instance starts a later one. */
  epoch(): number {
    return Math.max(0, ...this.#epochs.values());
  }

  /** Records of deposed instances dropped so far. */
  dropped(): number {
    return this.#dropped;
  }

  /** A KPI document once every section has its summary, at the time of the latest record. */
  #compose(): void {
    if ([...this.#topics.values()].some((t) => !t.section.complete)) return;
    const kpis: Record<string, unknown> = {};
    for (const { name, section } of this.#topics.values()) kpis[name] = section.section();
    this.#kpis = { ...kpis, evaluatedAt: this.#evaluatedAt } as Kpis;
    this.#listeners.emit({ type: 'kpis', kpis: this.#kpis });
  }

  #control(record: StreamRecord): void {
    const message = parseControl(record.value);
    if (message?.kind !== 'reply') return;
    const answer = this.#waiting.get(message.request);
    if (!answer) return;
    this.#waiting.delete(message.request);
    if (message.result.ok) this.#put(message.result.alert);
    answer(message.result);
  }

  /** Keeps the newer of two versions of an alert (an answer and the alerts topic bring the same change in either order). */
  #put(alert: Alert): void {
    const known = this.#alerts.get(alert.id);
    if (known && known.updatedAt > alert.updatedAt) return;
    this.#alerts.set(alert.id, alert);
    if (alert.state === 'resolved') this.#forgetOldResolved();
    this.#listeners.emit({ type: 'alert', alert });
  }

  /** Resolved alerts beyond the evaluator's history size go, oldest first (as in the aggregating instance). */
  #forgetOldResolved(): void {
    const resolved = [...this.#alerts.values()].filter((a) => a.state === 'resolved');
    if (resolved.length <= EVALUATOR_DEFAULTS.historySize) return;
    resolved.sort((a, b) => (a.resolvedAt ?? 0) - (b.resolvedAt ?? 0));
    for (const a of resolved.slice(0, resolved.length - EVALUATOR_DEFAULTS.historySize)) this.#alerts.delete(a.id);
  }

  /** Resolves with the aggregating instance's answer to `request`, or `unavailable` after `timeoutMs`. */
  answer(request: string, timeoutMs: number): Promise<AckResult> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(request);
        resolve({ ok: false, error: 'unavailable' });
      }, timeoutMs);
      this.#waiting.set(request, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  }

  ready(): boolean {
    return this.#kpis !== null;
  }

  kpis(): Kpis {
    if (!this.#kpis) throw new Error('no KPIs published yet');
    return this.#kpis;
  }

  alerts(state?: AlertState): Alert[] {
    const all = [...this.#alerts.values()];
    return (state ? all.filter((a) => a.state === state) : all).map((a) => ({ ...a }));
  }

  /** An alert as last published, if known. */
  alert(id: string): Alert | undefined {
    return this.#alerts.get(id);
  }

  subscribe(listener: (event: PipelineEvent) => void): () => void {
    return this.#listeners.add(listener);
  }
}

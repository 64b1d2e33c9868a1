import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import {
  alertPlace,
  parseJson,
  TOPICS,
  withDefaults,
  type AckResult,
  type Alert,
  type AlertActor,
  type AlertCondition,
  type AlertState,
  type Config,
  type Consumer,
  type KindCatalog,
  type Kpis,
  type NodeRegistry,
  type PipelineEvent,
  type PipelineMetrics,
  type Producer,
  type StreamTransport,
} from '../core/index.js';
import { MetricsPublisher, metricsPublisherOptions } from './aggregation/metrics-publisher.js';
import { AlertEvaluator, type EvaluatorHolds, type EvaluatorState } from './alerts/evaluator.js';
import { HealthMerger, type HealthSection, type RejectionSection } from './health/processor.js';
import { PartialStore } from './partial-delta.js';
import { readJsonFile, readToEnd, writeFileAtomic } from './state/index.js';
import { Listeners, threadCpuMs, Ticker, type Pace } from './ticker.js';
import { appendAll, type EvalContext, type KindMerger } from './types.js';

export interface AggregatorOptions {
  registry: NodeRegistry;
  config: Config;
  transport: StreamTransport;
  producer: Producer;
  metrics: PipelineMetrics;
  logger: Logger;
  wall?: () => number;
  /**
   * Where the alert lifecycle is kept across restarts, pending holds included: default
   * `STATE_DIR/alerts.json` on the embedded logs (file and in-process), none on Kafka (the
   * compacted `alerts` topic is read back instead); null = none.
   */
  alertsFile?: string | null;
  /**
   * Whether this aggregator may still publish (one of several `api` instances: it still owns the
   * aggregation, see ElectedAggregation). Asked before each evaluation and each crew change; when it
   * says no, nothing is evaluated, published or changed. Default: always.
   */
  fence?: () => boolean;
  /** Headers on every record it publishes (which instance, which term wrote it). */
  headers?: Record<string, string>;
}

/** Header of every record an aggregating `api` instance publishes on Kafka: its term (see ElectedAggregation). */
export const EPOCH_HEADER = 'aggregator-epoch';
/** Header naming the instance that wrote the record. */
export const INSTANCE_HEADER = 'aggregator-instance';

/**
 * New partials are merged soon after they arrive (the partials of every partition of one build come
 * together: merged once), at least 100 ms and three times as long as the last evaluation cost apart.
 */
export const EVALUATION_PACE: Pace = { delayMs: 10, minGapMs: 100, costFactor: 3 };

/** The aggregator's defaults (alertsFile's depends on the transport and STATE_DIR: see the constructor). */
export const AGGREGATOR_DEFAULTS = {
  wall: Date.now,
  fence: (): boolean => true,
  /** How long start() waits for the partials on the log before the first evaluation. */
  catchUpMs: 30_000,
};

/** One merger per kind of the catalog (each kind module's), by kind name. */
export function mergersFor(kinds: KindCatalog, config: Config): Map<string, KindMerger> {
  return new Map(kinds.modules().map((m) => [m.name, m.merger(config) as KindMerger]));
}

/**
 * Merges the latest partial of every log partition into the city's KPIs, evaluates the alert
 * conditions (node-level ones from the partials, group-level ones from the merge) through the
 * alert lifecycle, and writes KPIs to `metrics.*` and alert changes to `alerts`. One runs per
 * pipeline; on start it takes over the alerts left on the compacted `alerts` topic, so an alert
 * keeps its id and state across restarts.
 */
export class Aggregator {
  readonly #o: AggregatorOptions;
  readonly #wall: () => number;
  readonly #fence: () => boolean;
  readonly #partials = new PartialStore();
  /** Sources whose deltas are being skipped (logged once per source until its next whole partial). */
  readonly #waiting = new Set<string>();
  readonly #mergers: Map<string, KindMerger>;
  readonly #health = new HealthMerger();
  readonly #alerts: AlertEvaluator;
  readonly #listeners = new Listeners<PipelineEvent>();
  readonly #ticker: Ticker;
  readonly #publisher: MetricsPublisher;
  #kpis: Kpis | null = null;
  #consumer: Consumer | null = null;
  readonly #alertsFile: string | null;
  /** The evaluator's revision last saved (the alert file embedded, the holds topic on Kafka). */
  #savedRevision = -1;
  #saving: Promise<void> = Promise.resolve();

  constructor(options: AggregatorOptions) {
    this.#o = options;
    this.#mergers = mergersFor(options.registry.kinds, options.config);
    this.#alertsFile =
      options.alertsFile !== undefined
        ? options.alertsFile
        : options.transport.stateIn === 'log'
          ? null
          : join(options.config.STATE_DIR, 'alerts.json');
    ({ wall: this.#wall, fence: this.#fence } = withDefaults(AGGREGATOR_DEFAULTS, options));
    this.#ticker = new Ticker(
      () => this.#evaluate(),
      (error) => this.#o.logger.error({ err: error }, 'aggregation failed'),
    );
    this.#publisher = new MetricsPublisher(metricsPublisherOptions(options.config));
    this.#alerts = new AlertEvaluator({
      holdMs: options.config.ALERT_HOLD_S * 1000,
      resolveHoldMs: options.config.ALERT_RESOLVE_HOLD_S * 1000,
      locate: (labels) => alertPlace(labels, options.registry),
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.#restoreAlerts(), this.#seedPublisher()]);
    // A group of its own, from the beginning: the compacted topic yields the latest partial of every partition.
    this.#consumer = await this.#o.transport.consume({
      groupId: `citybrain-aggregator-${randomUUID()}`,
      topics: [TOPICS.partials],
      fromBeginning: true,
      onBatch: async (batch) => {
        for (const r of batch.records) this.#take(r.key, parseJson(r.value));
        // New partials are merged soon (the timer only covers quiet times): a reading's KPIs wait
        // for the processors' next partials and one evaluation, not for two beats out of step.
        if (this.#kpis) this.#ticker.soon(EVALUATION_PACE);
      },
    });
    await this.#catchUp(this.#consumer);
    await this.tick();
    this.#ticker.start(this.#o.config.EVAL_INTERVAL_MS);
  }

  /** One record of `metrics.partials`: a whole partial or a delta (see ../partial-delta.ts). */
  #take(key: string | null, record: unknown): void {
    const taken = this.#partials.take(record);
    const source = (record as { source?: unknown } | undefined)?.source;
    if (taken === 'whole') this.#waiting.delete(source as string);
    else if (taken === 'skipped' && !this.#waiting.has(source as string)) {
      // Normal after a start from the compacted topic or a hand-over: its chain began before what this instance read.
      this.#waiting.add(source as string);
      this.#o.logger.info({ source }, 'partial deltas skipped until the next whole partial of their partition');
    } else if (taken === 'unreadable') this.#o.logger.warn({ topic: TOPICS.partials, key }, 'record skipped: not a partial');
    else if (taken === 'broken')
      this.#o.logger.error({ source }, 'partial delta did not apply to its base; the partition is left out until its next whole partial');
  }

  /**
   * Waits until the partials on the log have been read: a first evaluation of a few of them would
   * publish KPIs of part of the city and, taking over from another instance, resolve the alerts
   * of the rest. Within one partial per raw partition of the end is enough (the processors keep
   * publishing: the end moves on; what is still unread then is at most one evaluation newer than
   * what was read).
   */
  async #catchUp(consumer: Consumer): Promise<void> {
    const until = Date.now() + AGGREGATOR_DEFAULTS.catchUpMs;
    const slack = await this.#o.transport.partitionCount(TOPICS.raw);
    while (Object.values(await consumer.lag()).some((n) => n > slack)) {
      if (Date.now() > until) {
        this.#o.logger.warn({ waitedMs: AGGREGATOR_DEFAULTS.catchUpMs }, 'partials not read to the end: evaluating what has arrived');
        return;
      }
      await sleep(50);
    }
  }

  /**
   * On a log that outlives the process, the keys the metrics topics already hold (an earlier run's,
   * or the instance this one takes over from): entries gone from their lists meanwhile get their
   * removal. Without it they only linger on the topics (the KPIs are right): logged, not fatal.
   */
  async #seedPublisher(): Promise<void> {
    if (!this.#o.transport.durable) return;
    const topics = [...[...this.#mergers.keys()].map((kind) => TOPICS.metrics(kind)), TOPICS.nodeMetrics];
    await Promise.all(
      topics.map(async (topic) => {
        const keys = new Set<string>();
        try {
          await readToEnd(this.#o.transport, topic, (r) => {
            if (r.key === null) return;
            if ((parseJson(r.value) as { removed?: unknown } | undefined)?.removed === true) keys.delete(r.key);
            else keys.add(r.key);
          });
          this.#publisher.seen(topic, keys);
        } catch (error) {
          this.#o.logger.warn({ err: error, topic }, 'could not read the metrics topic back: entries gone meanwhile stay on it');
        }
      }),
    );
  }

  async #restoreAlerts(): Promise<void> {
    if (this.#alertsFile) {
      const saved = (await readJsonFile(this.#alertsFile)) as EvaluatorState | undefined;
      if (
        saved &&
        Array.isArray(saved.active) &&
        Array.isArray(saved.history) &&
        Array.isArray(saved.pending) &&
        Array.isArray(saved.missingSince)
      ) {
        this.#alerts.importState(saved);
        this.#savedRevision = this.#alerts.revision;
        this.#o.logger.info(
          { alerts: saved.active.length + saved.history.length, file: this.#alertsFile },
          'alerts restored from the state file',
        );
        // The in-process log starts empty: tell the sinks (Alertmanager re-sends, Grafana, InfluxDB) what is still active.
        // A durable log (the file log) still holds them.
        if (!this.#o.transport.durable) await this.#publishAlerts(saved.active);
        return;
      }
    }
    const latest = new Map<string, Alert>();
    let holds: EvaluatorHolds | undefined;
    let holdsEpoch = -1;
    await Promise.all([
      readToEnd(this.#o.transport, TOPICS.alerts, (r) => {
        const alert = parseJson(r.value) as Alert | undefined;
        if (alert?.id) latest.set(alert.id, alert);
      }),
      // The newest term's (a deposed instance may have written after its successor).
      readToEnd(this.#o.transport, TOPICS.aggregatorHolds, (r) => {
        const saved = parseJson(r.value) as EvaluatorHolds | undefined;
        const epoch = Number(r.headers[EPOCH_HEADER] ?? 0);
        if (epoch >= holdsEpoch && Array.isArray(saved?.pending) && Array.isArray(saved?.missingSince))
          [holds, holdsEpoch] = [saved, epoch];
      }),
    ]);
    this.#alerts.restore(latest.values());
    if (holds) this.#alerts.importHolds(holds);
    if (latest.size > 0 || holds)
      this.#o.logger.info(
        { alerts: latest.size, pending: holds?.pending.length ?? 0, resolving: holds?.missingSince.length ?? 0 },
        'alerts restored from the log',
      );
  }

  /**
   * Saves the alert lifecycle whenever it changed (AlertEvaluator.revision), not when only values
   * moved: with hundreds of alerts firing, values move at nearly every evaluation. Embedded, the
   * whole state goes to the alert file (atomically: an fsync, up to 1,000 resolved alerts besides);
   * on Kafka, where the alerts are on their topic, what else the lifecycle needs (how long pending
   * conditions have held, firing ones been gone) goes to the compacted `aggregator.holds`, so that
   * whoever aggregates next keeps the hold times. A restart gets the values back from its first
   * evaluation. One save at a time, each of the state as it is when its turn comes.
   */
  #saveAlerts(): Promise<void> {
    const file = this.#alertsFile;
    const run = this.#saving.then(async () => {
      const revision = this.#alerts.revision;
      if (revision === this.#savedRevision) return;
      if (file) {
        await mkdir(join(file, '..'), { recursive: true });
        await writeFileAtomic(file, JSON.stringify(this.#alerts.exportState()));
      } else {
        const holds = Buffer.from(JSON.stringify(this.#alerts.exportHolds()));
        await this.#o.producer.send(TOPICS.aggregatorHolds, [{ key: 'holds', value: holds, ...this.#headers() }]);
      }
      this.#savedRevision = revision;
    });
    // Where it cannot be written, KPIs and alerts go on: logged, retried at the next evaluation.
    this.#saving = run.catch((error: unknown) =>
      this.#o.logger.error(
        { err: error, ...(file ? { file } : { topic: TOPICS.aggregatorHolds }) },
        file ? 'could not write the alert state file' : 'could not write the alert holds to the log; the next evaluation retries',
      ),
    );
    return this.#saving;
  }

  async stop(): Promise<void> {
    await this.#ticker.stop();
    await this.#consumer?.stop();
    this.#consumer = null;
  }

  tick(): Promise<void> {
    return this.#ticker.tick();
  }

  /** Merges the partials as they stand now; pure apart from the mergers' memory and the alert lifecycle. */
  merge(): { kpis: Kpis; conditions: AlertCondition[] } {
    const partials = [...this.#partials.values()];
    // The city's "now" is the newest evaluation among the current partials (each follows its data's
    // event time); an instance that has seen no reading yet evaluates on its wall clock, which counts
    // only while no instance has data (a replayed or simulated day must not be judged by tonight's clock).
    const timed = partials.some((p) => p.eventTime !== false) ? partials.filter((p) => p.eventTime !== false) : partials;
    const now = timed.length ? Math.max(...timed.map((p) => p.at)) : this.#wall();
    const since = partials.length ? Math.min(...partials.map((p) => p.since)) : now;
    const ctx: EvalContext = { now, since, config: this.#o.config, registry: this.#o.registry };
    const conditions: AlertCondition[] = partials.flatMap((p) => p.conditions);
    const sections = {} as Record<string, Record<string, unknown>>;
    for (const [kind, merger] of this.#mergers) {
      const merged = merger.merge(
        partials.flatMap((p) => (p.kinds?.[kind] === undefined ? [] : [p.kinds[kind]])),
        ctx,
      );
      sections[this.#o.registry.kinds.get(kind)!.section] = merged.kpis;
      appendAll(conditions, merged.conditions);
    }
    const health = this.#health.merge(
      partials.flatMap((p): HealthSection[] => (p.health ? [p.health] : [])),
      partials.flatMap((p): RejectionSection[] => (p.rejections ? [p.rejections] : [])),
      ctx,
    );
    appendAll(conditions, health.conditions);
    const kpis = { ...sections, evaluatedAt: ctx.now, nodes: health.kpis } as Kpis;
    return { kpis, conditions };
  }

  /** Resolves to what the evaluation cost (ms of this thread's CPU merging, planning and handing the KPIs to listeners; not the writes it waits for). */
  async #evaluate(): Promise<number> {
    // Deposed (or unsure): another instance may be aggregating; evaluating would change alerts nobody publishes.
    if (!this.#fence()) return 0;
    const started = threadCpuMs();
    const { kpis, conditions } = this.merge();
    this.#kpis = kpis;
    const changed = this.#alerts.evaluate(conditions, kpis.evaluatedAt);
    const { producer, metrics } = this.#o;
    // Only what changed goes to the metrics topics, at a bounded rate (metrics-publisher.ts); evaluatedAt
    // runs on event time (a reading ahead of the clock moves it ahead): in the values only.
    const plan = this.#publisher.plan(this.#wall(), kpis.evaluatedAt, [
      ...[...this.#mergers.keys()].map((kind) => {
        const module = this.#o.registry.kinds.get(kind)!;
        return { topic: TOPICS.metrics(kind), section: kpis[module.section], lists: module.metricsLists };
      }),
      { topic: TOPICS.nodeMetrics, section: kpis.nodes, lists: [] },
    ]);
    metrics.alertsFiring.reset();
    for (const alert of this.#alerts.active()) metrics.alertsFiring.inc({ alertname: alert.alertname });
    // The live stream gets the KPIs now, not after the writes below (a log append each, the alert
    // file's fsync): they are what this process computed, whatever the topics' round trips.
    this.#listeners.emit({ type: 'kpis', kpis });
    const cost = threadCpuMs() - started;
    await Promise.all([
      ...[...plan.records].map(async ([topic, messages]) => {
        await producer.send(
          topic,
          messages.map((m) => ({ ...m, ...this.#headers() })),
        );
        for (const m of messages) metrics.metricsWrittenBytes.inc({ topic }, m.value.length + (m.key?.length ?? 0));
        metrics.metricsWrittenRecords.inc({ topic }, messages.length);
      }),
      this.#publishAlerts(changed),
      this.#saveAlerts(),
    ]);
    plan.commit();
    return cost;
  }

  async #publishAlerts(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    for (const alert of alerts)
      this.#o.logger.info({ alert: alert.alertname, id: alert.id, state: alert.state, labels: alert.labels }, 'alert state changed');
    await this.#o.producer.send(
      TOPICS.alerts,
      alerts.map((a) => ({ key: a.id, value: Buffer.from(JSON.stringify(a)), ...this.#headers() })),
    );
    for (const alert of alerts) this.#listeners.emit({ type: 'alert', alert });
  }

  #headers(): { headers?: Record<string, string> } {
    return this.#o.headers ? { headers: this.#o.headers } : {};
  }

  ready(): boolean {
    return this.#kpis !== null;
  }

  kpis(): Kpis {
    if (!this.#kpis) throw new Error('KPIs not evaluated yet');
    return this.#kpis;
  }

  alerts(state?: AlertState): Alert[] {
    return this.#alerts.list(state);
  }

  async acknowledge(alertId: string, actor: AlertActor, text?: string): Promise<AckResult> {
    if (!this.#fence()) return { ok: false, error: 'unavailable' };
    return this.#record(
      this.#alerts.acknowledge(alertId, actor, this.#kpis?.evaluatedAt ?? this.#wall(), text),
      'alert acknowledged',
      actor,
    );
  }

  async note(alertId: string, actor: AlertActor, text: string): Promise<AckResult> {
    if (!this.#fence()) return { ok: false, error: 'unavailable' };
    return this.#record(this.#alerts.note(alertId, actor, text, this.#kpis?.evaluatedAt ?? this.#wall()), 'alert note added', actor);
  }

  /** A crew's change goes where every alert change goes (the alerts topic, the state file, listeners), and to the log. */
  async #record(result: Alert | 'not-found' | 'not-active', what: string, actor: AlertActor): Promise<AckResult> {
    if (typeof result === 'string') return { ok: false, error: result };
    this.#o.logger.info({ alert: result.alertname, id: result.id, by: actor.by, role: actor.role }, what);
    await Promise.all([this.#publishAlerts([result]), this.#saveAlerts()]);
    return { ok: true, alert: result };
  }

  subscribe(listener: (event: PipelineEvent) => void): () => void {
    return this.#listeners.add(listener);
  }
}

import type { Logger } from 'pino';
import {
  GROUPS,
  KIND_NAMES,
  TOPICS,
  type AckResult,
  type Alert,
  type AlertCondition,
  type AlertState,
  type Config,
  type Consumer,
  type Kind,
  type Kpis,
  type NodeOf,
  type NodeQuery,
  type NodeRegistry,
  type NodeView,
  type PipelineEvent,
  type PipelineMetrics,
  type PipelineView,
  type Producer,
  type RegistryNode,
  type StreamRecord,
  type StreamTransport,
  type TelemetryRecord,
} from '../core/index.js';
import { AlertEvaluator } from './alerts/evaluator.js';
import { EventClock } from './clock.js';
import { GroundwaterProcessor } from './groundwater/processor.js';
import { NodeHealth } from './health/processor.js';
import { LightingProcessor } from './lighting/processor.js';
import { NoiseProcessor } from './noise/processor.js';
import { ParkingProcessor } from './parking/processor.js';
import type { EvalContext, KindProcessor } from './types.js';

export interface HostOptions {
  registry: NodeRegistry;
  config: Config;
  transport: StreamTransport;
  producer: Producer;
  metrics: PipelineMetrics;
  logger: Logger;
  wall?: () => number;
}

type Processors = { [K in Kind]: KindProcessor<K> };

/**
 * Runs the processors as one member of the processor group: applies readings from
 * `telemetry.raw` (and counts rejections from `telemetry.dlq`), evaluates KPIs and alert
 * conditions on a timer, writes them to the `metrics.*` and `alerts` topics, and serves the
 * current state to the API.
 */
export class ProcessorHost implements PipelineView {
  readonly #o: HostOptions;
  readonly #wall: () => number;
  readonly #clock: EventClock;
  readonly #kinds: Processors = {
    streetlight: new LightingProcessor(),
    groundwater: new GroundwaterProcessor(),
    noise: new NoiseProcessor(),
    parking: new ParkingProcessor(),
  };
  readonly #health = new NodeHealth();
  readonly #alerts: AlertEvaluator;
  readonly #listeners = new Set<(event: PipelineEvent) => void>();
  #kpis: Kpis | null = null;
  #consumer: Consumer | null = null;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;

  constructor(options: HostOptions) {
    this.#o = options;
    this.#wall = options.wall ?? Date.now;
    this.#clock = new EventClock(this.#wall);
    this.#alerts = new AlertEvaluator({ holdMs: options.config.ALERT_HOLD_S * 1000, resolveHoldMs: options.config.ALERT_RESOLVE_HOLD_S * 1000 });
  }

  async start(): Promise<void> {
    this.#consumer = await this.#o.transport.consume({
      groupId: GROUPS.processors,
      topics: [TOPICS.raw, TOPICS.dlq],
      fromBeginning: true,
      onBatch: async (batch) => this.#onBatch(batch.topic, batch.records),
    });
    await this.tick();
    this.#timer = setInterval(() => void this.tick(), this.#o.config.EVAL_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#ticking;
    await this.#consumer?.stop();
    this.#consumer = null;
  }

  #onBatch(topic: string, records: StreamRecord[]): void {
    const { registry, metrics, logger } = this.#o;
    if (topic === TOPICS.dlq) {
      for (const r of records) {
        const rejected = safeJson(r.value) as { reason?: string; receivedAt?: number } | undefined;
        if (rejected?.reason) this.#health.noteRejected(rejected.reason, rejected.receivedAt ?? r.timestamp);
      }
      return;
    }
    const processed = new Map<Kind, number>();
    for (const r of records) {
      const record = safeJson(r.value) as TelemetryRecord | undefined;
      const node = record && registry.get(record.nodeId);
      if (!record || !node || node.kind !== record.kind) {
        // Ingest validated it; a mismatch here means the registries differ between stages.
        logger.warn({ topic, partition: r.partition, offset: r.offset, key: r.key }, 'record skipped: unreadable or not in this registry');
        continue;
      }
      if (record.type === 'reading') {
        this.#clock.observe(record.reading.ts);
        (this.#kinds[record.kind] as KindProcessor).apply(record, node as NodeOf<Kind>);
        processed.set(record.kind, (processed.get(record.kind) ?? 0) + 1);
        if (this.#listeners.size > 0) this.#emit({ type: 'reading', nodeId: record.nodeId, kind: record.kind, district: record.district, ts: record.reading.ts });
      }
      this.#health.apply(record, this.#clock.now());
    }
    for (const [kind, n] of processed) metrics.processed.inc({ kind }, n);
  }

  #ctx(): EvalContext {
    return { now: this.#clock.now(), since: this.#clock.since, config: this.#o.config, registry: this.#o.registry };
  }

  /** One evaluation: KPIs, alert conditions and lifecycle, outputs to the log. Never overlaps itself. */
  tick(): Promise<void> {
    if (this.#ticking) return this.#ticking;
    this.#ticking = this.#evaluate()
      .catch((error: unknown) => this.#o.logger.error({ err: error }, 'evaluation failed'))
      .finally(() => (this.#ticking = null));
    return this.#ticking;
  }

  async #evaluate(): Promise<void> {
    const ctx = this.#ctx();
    const conditions: AlertCondition[] = [];
    const sections = {} as Record<Kind, Record<string, unknown>>;
    for (const kind of KIND_NAMES) {
      const e = (this.#kinds[kind] as KindProcessor).evaluate(ctx);
      sections[kind] = e.kpis;
      conditions.push(...e.conditions);
    }
    const health = this.#health.evaluate(ctx, this.#wall());
    conditions.push(...health.conditions);
    const kpis: Kpis = {
      evaluatedAt: ctx.now,
      lighting: sections.streetlight,
      groundwater: sections.groundwater,
      noise: sections.noise,
      parking: sections.parking,
      nodes: health.kpis,
    };
    this.#kpis = kpis;
    const changed = this.#alerts.evaluate(conditions, ctx.now);

    const { producer, metrics } = this.#o;
    await Promise.all([
      ...KIND_NAMES.map((kind) => producer.send(TOPICS.metrics(kind), [{ key: 'city', value: Buffer.from(JSON.stringify({ ts: ctx.now, kpis: sections[kind] })), timestamp: ctx.now }])),
      producer.send(TOPICS.nodeMetrics, [{ key: 'city', value: Buffer.from(JSON.stringify({ ts: ctx.now, kpis: health.kpis })), timestamp: ctx.now }]),
      this.#publishAlerts(changed),
    ]);

    metrics.alertsFiring.reset();
    for (const alert of this.#alerts.active()) metrics.alertsFiring.inc({ alertname: alert.alertname });
    if (this.#consumer) for (const [topic, lag] of Object.entries(await this.#consumer.lag())) metrics.consumerLag.set({ topic }, lag);
    this.#emit({ type: 'kpis', kpis });
  }

  async #publishAlerts(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    for (const alert of alerts) this.#o.logger.info({ alert: alert.alertname, id: alert.id, state: alert.state, labels: alert.labels }, 'alert state changed');
    await this.#o.producer.send(TOPICS.alerts, alerts.map((a) => ({ key: a.id, value: Buffer.from(JSON.stringify(a)), timestamp: a.updatedAt })));
    for (const alert of alerts) this.#emit({ type: 'alert', alert });
  }

  #emit(event: PipelineEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  // ---- PipelineView -------------------------------------------------------------------------

  ready(): boolean {
    return this.#consumer !== null && this.#kpis !== null;
  }

  kpis(): Kpis {
    if (!this.#kpis) throw new Error('KPIs not evaluated yet');
    return this.#kpis;
  }

  #view(node: RegistryNode, ctx: EvalContext, detail: boolean): NodeView {
    const view: NodeView = { node, health: this.#health.view(node, ctx) };
    if (detail) Object.assign(view, (this.#kinds[node.kind] as KindProcessor).describe(node as NodeOf<Kind>, ctx));
    return view;
  }

  nodes(query: NodeQuery): { total: number; items: NodeView[] } {
    const ctx = this.#ctx();
    const items: NodeView[] = [];
    let total = 0;
    const candidates = query.kind ? this.#o.registry.ofKind(query.kind) : this.#o.registry.all();
    for (const node of candidates) {
      if (query.district && node.district !== query.district) continue;
      if (query.status && this.#health.online(node, ctx) !== (query.status === 'online')) continue;
      if (total >= query.offset && items.length < query.limit) items.push(this.#view(node, ctx, false));
      total++;
    }
    return { total, items };
  }

  node(nodeId: string): NodeView | undefined {
    const node = this.#o.registry.get(nodeId);
    return node && this.#view(node, this.#ctx(), true);
  }

  alerts(state?: AlertState): Alert[] {
    return this.#alerts.list(state);
  }

  async acknowledge(alertId: string, by: string): Promise<AckResult> {
    const result = this.#alerts.acknowledge(alertId, by, this.#clock.now());
    if (typeof result === 'string') return { ok: false, error: result };
    await this.#publishAlerts([result]);
    return { ok: true, alert: result };
  }

  subscribe(listener: (event: PipelineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function safeJson(value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}


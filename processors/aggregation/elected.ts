import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GROUPS,
  TOPICS,
  withDefaults,
  type AckResult,
  type Alert,
  type AlertActor,
  type AlertState,
  type Batch,
  type Consumer,
  type Kpis,
  type PipelineEvent,
} from '../../core/index.js';
import { Aggregator, EPOCH_HEADER, INSTANCE_HEADER, type AggregatorOptions } from '../aggregator.js';
import { Listeners } from '../ticker.js';
import { parseControl, replyRecord, requestRecord, type AlertRequest } from './commands.js';
import { PublishedView } from './published-view.js';

export interface ElectedAggregationOptions extends Omit<AggregatorOptions, 'fence' | 'headers' | 'alertsFile'> {
  /** How long the group waits for a silent aggregating instance before another takes over (AGGREGATOR_SESSION_TIMEOUT_S). */
  sessionTimeoutMs: number;
  /** How long an instance that does not aggregate waits for the answer to an acknowledgement or note. */
  replyTimeoutMs?: number;
  /** How often the instance checks that it still holds (or now holds) the aggregation. */
  checkIntervalMs?: number;
  /** Names this instance in logs and in the records it publishes. */
  instance?: string;
}

export const ELECTED_AGGREGATION_DEFAULTS = {
  replyTimeoutMs: 10_000,
  checkIntervalMs: 500,
  instance: `${hostname()}-${process.pid}`,
  wall: Date.now,
};

/** Owning it is aggregating. */
const SEAT = { topic: TOPICS.aggregatorControl, partition: 0 };

/**
 * The aggregation of one of several `api` instances on Kafka. They form the `citybrain-aggregator`
 * group on the one-partition `aggregator.control` topic; the member that holds the partition
 * (`Consumer.holds`: assigned and heard from the group within its session) aggregates, the others
 * serve what it publishes (PublishedView). A term begins when this instance comes to hold the
 * partition: a fresh Aggregator takes over the alerts from the compacted `alerts` topic (ids,
 * start and fire times, acknowledgements and notes) and their hold times from `aggregator.holds`,
 * reads the partials, and evaluates; it ends
 * when the instance no longer holds it (revoked, or cut off from the group for most of a session:
 * the fence, asked before every evaluation, stops it before another can take over). Each term's
 * records carry a later epoch than any seen, so readers drop a deposed instance's late records.
 * Acknowledgements and notes made on another instance come as requests on `aggregator.control`;
 * the answer goes back there.
 */
export class ElectedAggregation {
  readonly #o: ElectedAggregationOptions & typeof ELECTED_AGGREGATION_DEFAULTS;
  readonly #view: PublishedView;
  readonly #listeners = new Listeners<PipelineEvent>();
  #election: Consumer | null = null;
  /** The running term's aggregator; null while not aggregating (or while a term starts). */
  #aggregator: Aggregator | null = null;
  /** Whether this instance holds the seat (a term starting, running). */
  #leading = false;
  /** Terms begin and end one at a time. */
  #turn: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: ElectedAggregationOptions) {
    this.#o = { ...options, ...withDefaults(ELECTED_AGGREGATION_DEFAULTS, options) };
    this.#view = new PublishedView({ transport: options.transport, kinds: options.registry.kinds, logger: options.logger });
  }

  get instance(): string {
    return this.#o.instance;
  }

  async start(): Promise<void> {
    await this.#view.start();
    this.#view.subscribe((event) => {
      if (!this.#aggregator) this.#listeners.emit(event);
    });
    this.#o.metrics.aggregating.set(0);
    this.#election = await this.#o.transport.consume({
      groupId: GROUPS.aggregator,
      topics: [TOPICS.aggregatorControl],
      fromBeginning: false,
      sessionTimeoutMs: this.#o.sessionTimeoutMs,
      // An instance that joins (a restart, one more instance) does not take the aggregation away.
      sticky: true,
      onAssigned: () => void this.#check(),
      onRevoked: () => this.#check(),
      onBatch: (batch) => this.#requests(batch),
    });
    this.#timer = setInterval(() => void this.#check(), this.#o.checkIntervalMs);
    await this.#check();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#check();
    await this.#election?.stop();
    await this.#view.stop();
  }

  /** Whether this instance aggregates (its term has started). */
  aggregating(): boolean {
    return this.#aggregator !== null;
  }

  /** Begins or ends a term when holding the seat changed; resolves when that is done. */
  #check(): Promise<void> {
    const holding = !this.#stopped && (this.#election?.holds(SEAT) ?? false);
    if (holding !== this.#leading) {
      this.#leading = holding;
      this.#turn = this.#turn.then(() => (holding ? this.#lead() : this.#stepDown()));
    }
    return this.#turn;
  }

  async #lead(): Promise<void> {
    const began = Date.now();
    // Later than every term seen on the log (wall time for a log that has none yet or is long quiet).
    const epoch = Math.max(Date.now(), this.#view.epoch() + 1);
    const { sessionTimeoutMs: _s, replyTimeoutMs: _r, checkIntervalMs: _c, instance, ...options } = this.#o;
    while (this.#leading) {
      const term = new Aggregator({
        ...options,
        alertsFile: null,
        fence: () => this.#leading && (this.#election?.holds(SEAT) ?? false),
        headers: { [EPOCH_HEADER]: String(epoch), [INSTANCE_HEADER]: instance },
        logger: this.#o.logger.child({ epoch }),
      });
      try {
        await term.start();
      } catch (error) {
        this.#o.logger.error({ err: error }, 'could not take over the aggregation; retrying');
        await term.stop();
        await sleep(1000);
        continue;
      }
      if (!this.#leading) return term.stop();
      this.#aggregator = term;
      term.subscribe((event) => this.#listeners.emit(event));
      this.#o.metrics.aggregating.set(1);
      this.#o.logger.info(
        { instance, epoch, alerts: term.alerts().length, tookMs: Date.now() - began },
        'aggregating: this instance took over KPIs and the alert lifecycle',
      );
      return;
    }
  }

  async #stepDown(): Promise<void> {
    const term = this.#aggregator;
    this.#aggregator = null;
    this.#o.metrics.aggregating.set(0);
    if (!term) return;
    await term.stop();
    this.#o.metrics.alertsFiring.reset();
    this.#o.logger.info({ instance: this.#o.instance }, 'stopped aggregating: another instance holds the aggregation');
  }

  /**
   * A term that is starting, once started; waits a quarter of the session at most (a batch handler
   * that waits holds back the member's heartbeats).
   */
  async #startingTerm(): Promise<Aggregator | null> {
    if (this.#leading) await Promise.race([this.#turn, sleep(this.#o.sessionTimeoutMs / 4)]);
    return this.#aggregator;
  }

  /** The aggregating instance answers the others' acknowledgements and notes. */
  async #requests(batch: Batch): Promise<void> {
    for (const record of batch.records) {
      const message = parseControl(record.value);
      if (message?.kind !== 'request') continue;
      const { request } = message;
      // Nobody waits for it any more: the crew was told to try again.
      if (this.#o.wall() > request.expiresAt) continue;
      const term = this.#aggregator ?? (await this.#startingTerm());
      const result: AckResult = !term
        ? { ok: false, error: 'unavailable' }
        : request.type === 'ack'
          ? await term.acknowledge(request.alertId, request.actor, request.text)
          : await term.note(request.alertId, request.actor, request.text ?? '');
      await this.#o.producer.send(TOPICS.aggregatorControl, [replyRecord(request.request, result)]);
    }
  }

  /** Asks the aggregating instance (through the log) to make a crew's change. */
  async #ask(type: AlertRequest['type'], alertId: string, actor: AlertActor, text: string | undefined): Promise<AckResult> {
    const request = randomUUID();
    const answer = this.#view.answer(request, this.#o.replyTimeoutMs);
    const message: AlertRequest = {
      type,
      request,
      alertId,
      actor,
      ...(text !== undefined ? { text } : {}),
      expiresAt: this.#o.wall() + this.#o.replyTimeoutMs,
    };
    try {
      await this.#o.producer.send(TOPICS.aggregatorControl, [requestRecord(message)]);
    } catch (error) {
      this.#o.logger.warn({ err: error, alertId }, 'could not pass an alert change to the aggregating instance');
      return { ok: false, error: 'unavailable' };
    }
    return answer;
  }

  ready(): boolean {
    return (this.#aggregator?.ready() ?? false) || this.#view.ready();
  }

  kpis(): Kpis {
    const term = this.#aggregator;
    return term?.ready() ? term.kpis() : this.#view.kpis();
  }

  alerts(state?: AlertState): Alert[] {
    return (this.#aggregator ?? this.#view).alerts(state);
  }

  acknowledge(alertId: string, actor: AlertActor, text?: string): Promise<AckResult> {
    return this.#aggregator ? this.#aggregator.acknowledge(alertId, actor, text) : this.#ask('ack', alertId, actor, text);
  }

  note(alertId: string, actor: AlertActor, text: string): Promise<AckResult> {
    return this.#aggregator ? this.#aggregator.note(alertId, actor, text) : this.#ask('note', alertId, actor, text);
  }

  tick(): Promise<void> {
    return this.#aggregator?.tick() ?? Promise.resolve();
  }

  subscribe(listener: (event: PipelineEvent) => void): () => void {
    return this.#listeners.add(listener);
  }
}

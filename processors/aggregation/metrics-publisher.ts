import type { Config, KeyedList, OutgoingMessage } from '../../core/index.js';

/**
 * Which `metrics.*` records an evaluation writes (pure: time is passed in). The API, alerts and
 * the live stream take every evaluation; the metrics topics, kept for days and read by the
 * InfluxDB sink, Grafana and the other `api` instances, get what changed, at a bounded rate:
 *
 * - the summary (the section without its keyed lists), key `city`, value `{ ts, kpis }`: when it
 *   changed, at most every `summaryIntervalMs`;
 * - each entry of a keyed list (KindModule.metricsLists), key `<item>:<id>`, value
 *   `{ ts, list, item }`: when it changed, at most every `itemIntervalMs`; an entry gone from its
 *   list is written once as `{ ts, list, removed: true }` (at the same pace);
 * - every summary and entry again after `refreshMs` even unchanged, so a reader of the
 *   compacted topic (whose retention also deletes) finds each key's latest within that time.
 *
 * A change held back by its interval is written at the first evaluation after the interval, with
 * the value of that evaluation: the topic always ends on the latest value. `ts` is the
 * evaluation's time (event time); the intervals run on the clock passed to `plan` (wall time).
 */
export interface MetricsPublisherOptions {
  summaryIntervalMs: number;
  itemIntervalMs: number;
  refreshMs: number;
}

/** The intervals the settings give (METRICS_SUMMARY_INTERVAL_S, METRICS_ITEM_INTERVAL_S, METRICS_REFRESH_S). */
export function metricsPublisherOptions(config: Config): MetricsPublisherOptions {
  return {
    summaryIntervalMs: config.METRICS_SUMMARY_INTERVAL_S * 1000,
    itemIntervalMs: config.METRICS_ITEM_INTERVAL_S * 1000,
    refreshMs: config.METRICS_REFRESH_S * 1000,
  };
}

/** The summary's key: the key every record had before the lists were keyed. */
export const SUMMARY_KEY = 'city';

/** A record of one keyed list entry (or its removal) on a `metrics.*` topic. */
export interface ItemRecord {
  ts: number;
  /** The section's field holding the list. */
  list: string;
  item?: unknown;
  removed?: true;
}

/** What was last written under one key: its content (JSON, without `ts`) and when. */
interface Written {
  json: string;
  at: number;
}

/** Marks a key whose entry left its list (its removal was written). */
const REMOVED = '';
/** Marks a key found on the topic, written by an earlier run (content unknown: written again at once). */
const UNKNOWN = '?';

export interface Plan {
  /** The records due, per topic (topics with none are left out). */
  records: Map<string, OutgoingMessage[]>;
  /** Call once the records are written: they count as written from then on (not when the write failed). */
  commit(): void;
}

export class MetricsPublisher {
  readonly #o: MetricsPublisherOptions;
  /** Per topic, per key: what was last written. */
  readonly #written = new Map<string, Map<string, Written>>();

  constructor(options: MetricsPublisherOptions) {
    this.#o = options;
  }

  #topic(topic: string): Map<string, Written> {
    let written = this.#written.get(topic);
    if (!written) this.#written.set(topic, (written = new Map<string, Written>()));
    return written;
  }

  /**
   * Keys a topic already holds (written by an earlier run or another instance): each is written at
   * the next evaluation, as its entry or, when gone from its list meanwhile, as removed; without
   * this such an entry would stay on the compacted topic for good.
   */
  seen(topic: string, keys: Iterable<string>): void {
    const written = this.#topic(topic);
    for (const key of keys) if (!written.has(key)) written.set(key, { json: UNKNOWN, at: -Infinity });
  }

  /**
   * The records due at wall time `now` for the sections of one evaluation at event time `ts`:
   * per topic its section and the keyed lists in it.
   */
  plan(now: number, ts: number, sections: readonly { topic: string; section: unknown; lists: readonly KeyedList[] }[]): Plan {
    const records = new Map<string, OutgoingMessage[]>();
    const updates: [Map<string, Written>, string, Written | undefined][] = [];
    for (const { topic, section, lists } of sections) {
      const written = this.#topic(topic);
      const out: OutgoingMessage[] = [];
      // The JSON of a key written within both its interval and the refresh is not needed: neither a
      // change nor a refresh can be due yet (evaluations come several times a second; entries are
      // written every few minutes at most, and a city has thousands).
      const due = (key: string, content: () => string, interval: number): string | null => {
        const last = written.get(key);
        if (last && now - last.at < Math.min(interval, this.#o.refreshMs)) return null;
        const json = content();
        if (last && (last.json === json ? now - last.at < this.#o.refreshMs : now - last.at < interval)) return null;
        updates.push([written, key, { json, at: now }]);
        return json;
      };
      const fields = new Set(lists.map((l) => l.field));
      const whole = (section ?? {}) as Record<string, unknown>;
      const summary = () => JSON.stringify(Object.fromEntries(Object.entries(whole).filter(([field]) => !fields.has(field))));
      const summaryJson = due(SUMMARY_KEY, summary, this.#o.summaryIntervalMs);
      if (summaryJson !== null) out.push({ key: SUMMARY_KEY, value: Buffer.from(`{"ts":${ts},"kpis":${summaryJson}}`) });
      const present = new Set<string>([SUMMARY_KEY]);
      for (const list of lists) {
        const entries = whole[list.field];
        for (const entry of Array.isArray(entries) ? entries : []) {
          const key = `${list.item}:${list.id(entry)}`;
          present.add(key);
          const json = due(key, () => JSON.stringify(entry), this.#o.itemIntervalMs);
          if (json !== null) out.push({ key, value: Buffer.from(`{"ts":${ts},"list":${JSON.stringify(list.field)},"item":${json}}`) });
        }
      }
      // Entries gone from their lists: one removal each, at the entries' pace; forgotten after a refresh interval.
      for (const [key, last] of written) {
        if (present.has(key)) continue;
        if (last.json === REMOVED) {
          if (now - last.at >= this.#o.refreshMs) updates.push([written, key, undefined]);
          continue;
        }
        if (now - last.at < this.#o.itemIntervalMs) continue;
        const list = lists.find((l) => key.startsWith(`${l.item}:`));
        updates.push([written, key, { json: REMOVED, at: now }]);
        out.push({ key, value: Buffer.from(JSON.stringify({ ts, list: list?.field, removed: true })) });
      }
      if (out.length > 0) records.set(topic, out);
    }
    return {
      records,
      commit: () => {
        for (const [written, key, value] of updates) {
          if (value) written.set(key, value);
          else written.delete(key);
        }
      },
    };
  }
}

import type { KeyedList } from '../../core/index.js';

/** A record of a `metrics.*` topic as written by MetricsPublisher: a summary, a list entry, or an entry's removal. */
export interface MetricsRecordValue {
  ts?: unknown;
  kpis?: unknown;
  list?: unknown;
  item?: unknown;
  removed?: unknown;
}

/**
 * One KPI section rebuilt from the records of its `metrics.*` topic (metrics-publisher.ts), read
 * in log order: the latest summary (key `city`, `{ ts, kpis }`) and the latest record of each
 * list entry (key `<item>:<id>`, `{ ts, list, item }` or `{ ts, list, removed: true }`).
 */
export class MetricsSection {
  readonly #lists: readonly KeyedList[];
  #summary: Record<string, unknown> | undefined;
  readonly #entries = new Map<string, Map<string, unknown>>();
  /** Each list as last rebuilt, until an entry of it changes (a batch of records touches few lists). */
  readonly #sorted = new Map<string, unknown[]>();

  constructor(lists: readonly KeyedList[]) {
    this.#lists = lists;
  }

  /** Takes one record; false when it is none of the three (left out). */
  apply(key: string | null, value: MetricsRecordValue | undefined): boolean {
    if (typeof value?.ts !== 'number' || key === null) return false;
    if (value.kpis && typeof value.kpis === 'object') this.#summary = value.kpis as Record<string, unknown>;
    else if (typeof value.list === 'string') {
      let entries = this.#entries.get(value.list);
      if (!entries) this.#entries.set(value.list, (entries = new Map<string, unknown>()));
      if (value.removed === true) entries.delete(key);
      else if (value.item !== undefined) entries.set(key, value.item);
      else return false;
      this.#sorted.delete(value.list);
    } else return false;
    return true;
  }

  /** Whether its summary has come (a section without one is not known yet). */
  get complete(): boolean {
    return this.#summary !== undefined;
  }

  /**
   * The section: its summary with each keyed list rebuilt from its entries in id order (a summary
   * of before the lists were keyed carries its lists itself: kept while no entry has come).
   */
  section(): Record<string, unknown> {
    const section = { ...this.#summary };
    for (const list of this.#lists) {
      const entries = this.#entries.get(list.field);
      if (!entries?.size && Array.isArray(section[list.field])) continue;
      let sorted = this.#sorted.get(list.field);
      if (!sorted) {
        const byId = [...(entries?.values() ?? [])].map((entry) => ({ id: list.id(entry), entry }));
        this.#sorted.set(list.field, (sorted = byId.sort((a, b) => a.id.localeCompare(b.id)).map((x) => x.entry)));
      }
      section[list.field] = sorted;
    }
    return section;
  }
}

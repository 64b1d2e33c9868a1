import type { Client, Subscription } from 'aedes';

/**
 * Per connection: the filters aedes granted (so one client holds at most `maxFilters`), and the
 * grants of a persistent session that the session store has not stored yet.
 *
 * aedes 1.2 calls `persistence.addSubscriptions(client, packet.subscriptions)` once per granted
 * filter with the whole packet's filter list: N filters cost N x N trie insertions (10,000 filters:
 * minutes of CPU), and refused filters are stored with the others, so the session later receives
 * what the SUBSCRIBE was refused. The session store (./session-store.ts) therefore ignores the list
 * it is handed and stores exactly the grants waiting here, each once: linear, and never a refused
 * filter.
 */
export class SubscriptionLedger {
  readonly #granted = new WeakMap<Client, Set<string>>();
  readonly #unstored = new WeakMap<Client, Subscription[]>();
  readonly maxFilters: number;

  constructor(options: { maxFilters: number }) {
    this.maxFilters = options.maxFilters;
  }

  /** Records a grant; false (and nothing recorded) when the client already holds `maxFilters` other filters. */
  grant(client: Client, subscription: Subscription): boolean {
    let granted = this.#granted.get(client);
    if (!granted) this.#granted.set(client, (granted = new Set()));
    if (!granted.has(subscription.topic)) {
      if (granted.size >= this.maxFilters) return false;
      granted.add(subscription.topic);
    }
    // A clean session is never stored (aedes skips addSubscriptions), so nothing waits for it.
    if (!client.clean) {
      let unstored = this.#unstored.get(client);
      if (!unstored) this.#unstored.set(client, (unstored = []));
      unstored.push(subscription);
    }
    return true;
  }

  /** Filters the client unsubscribed no longer count against its limit. */
  released(client: Client, filters: readonly string[]): void {
    const granted = this.#granted.get(client);
    if (granted) for (const f of filters) granted.delete(f);
  }

  /** The grants not stored yet, handed over once. */
  takeUnstored(client: Client): Subscription[] {
    const unstored = this.#unstored.get(client);
    if (!unstored || unstored.length === 0) return [];
    this.#unstored.delete(client);
    return unstored;
  }

  held(client: Client): number {
    return this.#granted.get(client)?.size ?? 0;
  }
}

/** The limits on one client's subscriptions and persistent session (settings MQTT_MAX_FILTERS_*, MQTT_SESSION_QUEUE_*). */
export interface SessionLimits {
  maxFiltersPerSubscribe: number;
  maxFiltersPerClient: number;
  queueMax: number;
  queueMaxBytes: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxFiltersPerSubscribe: 100,
  maxFiltersPerClient: 200,
  queueMax: 1_000,
  queueMaxBytes: 1_048_576,
};

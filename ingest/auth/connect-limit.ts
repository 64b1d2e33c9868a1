import { withDefaults } from '../../core/defaults.js';

/** The limiter's defaults (the broker passes the rate and burst, from config). */
export const CONNECT_LIMITER_DEFAULTS = {
  now: Date.now,
};

/**
 * New connections per client IP as a token bucket: `burst` at once, refilled at `perSecond`. It
 * runs on the raw socket, before TLS and MQTT parsing, so a flood costs as little as possible.
 */
export class ConnectLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #sweptAt: number;

  constructor(options: { perSecond: number; burst: number; now?: () => number }) {
    this.#perMs = options.perSecond / 1000;
    this.#burst = options.burst;
    this.#now = withDefaults(CONNECT_LIMITER_DEFAULTS, options).now;
    this.#sweptAt = this.#now();
  }

  /** Takes one connection for `ip`; false when its bucket is empty. */
  take(ip: string): boolean {
    const now = this.#now();
    this.#sweep(now);
    const b = this.#buckets.get(ip);
    const tokens = b ? Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs) : this.#burst;
    if (tokens < 1) {
      this.#buckets.set(ip, { tokens, at: now });
      return false;
    }
    this.#buckets.set(ip, { tokens: tokens - 1, at: now });
    return true;
  }

  /** Full buckets carry no information: drop them now and then so the map stays small. */
  #sweep(now: number): void {
    if (now - this.#sweptAt < 60_000) return;
    this.#sweptAt = now;
    for (const [ip, b] of this.#buckets) if (b.tokens + (now - b.at) * this.#perMs >= this.#burst) this.#buckets.delete(ip);
  }
}

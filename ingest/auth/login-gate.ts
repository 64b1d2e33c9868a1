import { isIPv4, isIPv6 } from 'node:net';
import { withDefaults } from '../../core/defaults.js';

export interface LoginGateOptions {
  /** Password checks waiting or running at most (MQTT_AUTH_QUEUE_MAX); beyond, `admit` says busy. */
  queueMax: number;
  /** Failures of one username before it backs off (MQTT_AUTH_BACKOFF_USERNAME_FAILURES). */
  usernameFailures: number;
  /** Failures from one address prefix (IPv4 /24, IPv6 /64) before it backs off (MQTT_AUTH_BACKOFF_PREFIX_FAILURES). */
  prefixFailures: number;
  /** Longest backoff (MQTT_AUTH_BACKOFF_MAX_S, in ms here); it starts at 1 s and doubles per further failure. */
  backoffMaxMs: number;
  now?: () => number;
  /** Usernames and prefixes remembered at most, each (oldest forgotten first). */
  maxTracked?: number;
}

/** The gate's defaults (the broker passes the limits, from config). */
export const LOGIN_GATE_DEFAULTS = {
  maxTracked: 100_000,
  now: Date.now,
};

/** Failures are forgotten after this long without one. */
const FORGET_MS = 10 * 60_000;
const FIRST_BACKOFF_MS = 1_000;

export type Refusal = 'MQTT_AUTH_QUEUE_MAX' | 'MQTT_AUTH_BACKOFF_USERNAME_FAILURES' | 'MQTT_AUTH_BACKOFF_PREFIX_FAILURES';
export type Checked<T> = { ok: true; value: T } | { ok: false; limit: Refusal };

interface Waiter {
  username: string;
  prefix: string;
  run: () => void;
  refuse: (limit: Refusal) => void;
}

/** Password checks run at once: the credential store's scrypt slots (two of libuv's four threads). */
const SLOTS = 2;

/**
 * In front of the password checks (scrypt on two thread-pool slots). A login whose username or
 * address prefix backs off after failures is refused without a check, when it arrives and again
 * when its turn comes. Waiting checks are bounded (`queueMax`) and served fairly by address
 * prefix (the prefix with the fewest checks started goes next), so a flood from one prefix cannot make a login from elsewhere wait behind all of it;
 * when the queue is full, a newcomer from a prefix with fewer waiting takes the place of the
 * newest waiter of the prefix with the most (that one is refused), else the newcomer is refused.
 * Refusals cost nothing. A login whose secret was verified recently (the store's cache) never
 * comes here.
 */
export class LoginGate {
  readonly #o: LoginGateOptions & typeof LOGIN_GATE_DEFAULTS;
  readonly #now: () => number;
  readonly #users = new Map<string, Failures>();
  readonly #prefixes = new Map<string, Failures>();
  /** Waiting checks by prefix. */
  readonly #waiting = new Map<string, Waiter[]>();
  /** Checks started per prefix since the gate was last idle: the waiting prefix with the fewest goes next. */
  readonly #served = new Map<string, number>();
  #queued = 0;
  #running = 0;

  constructor(options: LoginGateOptions) {
    this.#o = { ...options, ...withDefaults(LOGIN_GATE_DEFAULTS, options) };
    this.#now = this.#o.now;
  }

  /** Checks waiting or running. */
  get pending(): number {
    return this.#queued + this.#running;
  }

  /**
   * Runs `check` (the password check) for `username` from `ip` when the gate allows it;
   * `succeeded` says whether it passed (failures feed the backoff).
   */
  check<T>(username: string, ip: string | undefined, check: () => Promise<T>, succeeded: (value: T) => boolean): Promise<Checked<T>> {
    const prefix = ip ? addressPrefix(ip) : '';
    const blockedNow = this.#blocked(username, prefix);
    if (blockedNow) return Promise.resolve({ ok: false, limit: blockedNow });
    return new Promise<Checked<T>>((resolve, reject) => {
      const waiter: Waiter = {
        username,
        prefix,
        refuse: (limit) => resolve({ ok: false, limit }),
        run: () => {
          this.#running++;
          check().then(
            (value) => {
              this.#finish(username, prefix, succeeded(value));
              resolve({ ok: true, value });
            },
            (error: unknown) => {
              this.#finish(username, prefix, false);
              reject(error);
            },
          );
        },
      };
      if (this.pending >= this.#o.queueMax && !this.#makeRoom(prefix)) return waiter.refuse('MQTT_AUTH_QUEUE_MAX');
      const list = this.#waiting.get(prefix);
      if (list) list.push(waiter);
      else this.#waiting.set(prefix, [waiter]);
      this.#queued++;
      this.#dispatch();
    });
  }

  /** A full queue: the newest waiter of the prefix with the most waiting gives way, if that is more than `prefix` has. */
  #makeRoom(prefix: string): boolean {
    let longest: Waiter[] | undefined;
    for (const list of this.#waiting.values()) if (!longest || list.length > longest.length) longest = list;
    const mine = this.#waiting.get(prefix)?.length ?? 0;
    if (!longest || longest.length <= mine + 1) return false;
    const evicted = longest.pop()!;
    if (longest.length === 0) this.#waiting.delete(evicted.prefix);
    this.#queued--;
    evicted.refuse('MQTT_AUTH_QUEUE_MAX');
    return true;
  }

  #dispatch(): void {
    if (this.#queued === 0 && this.#running === 0) this.#served.clear();
    while (this.#running < SLOTS && this.#queued > 0) {
      let prefix = '';
      let fewest = Infinity;
      for (const p of this.#waiting.keys()) {
        const n = this.#served.get(p) ?? 0;
        if (n < fewest) [prefix, fewest] = [p, n];
      }
      const list = this.#waiting.get(prefix)!;
      const waiter = list.shift()!;
      if (list.length === 0) this.#waiting.delete(prefix);
      this.#served.set(prefix, fewest + 1);
      this.#queued--;
      // Failures that came back while it waited may have put its username or prefix in backoff.
      const blockedNow = this.#blocked(waiter.username, waiter.prefix);
      if (blockedNow) waiter.refuse(blockedNow);
      else waiter.run();
    }
  }

  #blocked(username: string, prefix: string): Refusal | undefined {
    const now = this.#now();
    if (blocked(this.#users.get(username), now)) return 'MQTT_AUTH_BACKOFF_USERNAME_FAILURES';
    if (prefix && blocked(this.#prefixes.get(prefix), now)) return 'MQTT_AUTH_BACKOFF_PREFIX_FAILURES';
    return undefined;
  }

  #finish(username: string, prefix: string, success: boolean): void {
    this.#running--;
    const at = this.#now();
    if (success) this.#users.delete(username);
    else {
      this.#fail(this.#users, username, this.#o.usernameFailures, at);
      if (prefix) this.#fail(this.#prefixes, prefix, this.#o.prefixFailures, at);
    }
    this.#dispatch();
  }

  #fail(map: Map<string, Failures>, key: string, threshold: number, now: number): void {
    const previous = map.get(key);
    const f = previous && now - previous.lastAt < FORGET_MS ? previous : { count: 0, lastAt: now, until: 0 };
    f.count++;
    f.lastAt = now;
    if (f.count >= threshold) f.until = now + Math.min(this.#o.backoffMaxMs, FIRST_BACKOFF_MS * 2 ** Math.min(f.count - threshold, 30));
    // Re-inserted so the map's order is by last failure: the oldest go first when it is full.
    map.delete(key);
    map.set(key, f);
    while (map.size > this.#o.maxTracked) map.delete(map.keys().next().value!);
  }
}

interface Failures {
  count: number;
  lastAt: number;
  until: number;
}

function blocked(f: Failures | undefined, now: number): boolean {
  return f !== undefined && f.until > now;
}

/** The /24 of an IPv4 address (IPv4-mapped IPv6 included), the /64 of an IPv6 one. */
export function addressPrefix(ip: string): string {
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0/24`;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('%')[0]!.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

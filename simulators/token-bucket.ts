/** Token bucket: `rate` tokens per second up to `burst`; rate Infinity never limits. */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #last: number;

  constructor(rate: number, burst: number, now: number) {
    this.#rate = rate;
    this.#burst = Math.max(1, burst);
    this.#tokens = this.#burst;
    this.#last = now;
  }

  get rate(): number {
    return this.#rate;
  }

  get burst(): number {
    return this.#burst;
  }

  /** A new rate from `now` on (tokens earned so far at the old rate are kept, up to the new burst). */
  setRate(rate: number, burst: number, now: number): void {
    this.refill(now);
    this.#rate = rate;
    this.#burst = Math.max(1, burst);
    this.#tokens = Number.isFinite(rate) ? Math.min(this.#tokens, this.#burst) : this.#burst;
    this.#last = now;
  }

  refill(now: number): void {
    if (!Number.isFinite(this.#rate)) return;
    const dt = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + dt * this.#rate);
  }

  has(n = 1): boolean {
    return !Number.isFinite(this.rate) || this.#tokens >= n;
  }

  take(n = 1): void {
    if (Number.isFinite(this.rate)) this.#tokens -= n;
  }

  /** Milliseconds until `n` tokens are available (0 if they are). */
  waitMs(n = 1): number {
    if (this.has(n)) return 0;
    return Math.ceil(((n - this.#tokens) / this.rate) * 1000);
  }
}

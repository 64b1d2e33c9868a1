import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { topicLevel, withDefaults, type NodeRegistry } from '../../core/index.js';
import { CredentialsError } from '../../core/errors.js';

/**
 * MQTT credentials: one entry per device (a node that connects itself) or gateway (carries the
 * nodes whose registry `gatewayId` names it). The username is the node or gateway id; the secret is
 * stored only as an scrypt hash with its own salt and parameters.
 */
export type PrincipalType = 'device' | 'gateway';

export interface Principal {
  type: PrincipalType;
  /** Node id (device) or gateway id (gateway); also the MQTT username and client id. */
  id: string;
}

/**
 * Device secrets are 192-bit random strings, so the hash only has to make a stolen file useless,
 * not to slow down guessing of a weak password: N=2^12, r=8 (4 MiB, a few ms) keeps a reconnect
 * storm of thousands of devices affordable. Parameters are stored per entry, so they can be raised.
 */
export const DEFAULT_SCRYPT = { N: 4096, r: 8, p: 1, keyLength: 32 } as const;

const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
const powerOfTwo = z
  .number()
  .int()
  .min(1024)
  .max(1 << 20)
  .refine((n) => (n & (n - 1)) === 0, 'must be a power of two');

const scryptHash = z.strictObject({
  alg: z.literal('scrypt'),
  N: powerOfTwo,
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(16),
  salt: base64.refine((s) => Buffer.from(s, 'base64').length >= 16, 'salt must be at least 16 bytes'),
  hash: base64.refine((s) => Buffer.from(s, 'base64').length >= 16, 'hash must be at least 16 bytes'),
});
export type ScryptHash = z.output<typeof scryptHash>;

const entrySchema = z.strictObject({
  type: z.enum(['device', 'gateway']),
  id: topicLevel,
  secret: scryptHash,
  /** A revoked entry stays in the file (so `credentials` does not re-issue it) but authenticates nobody. */
  disabled: z.boolean().optional(),
});
export type CredentialEntry = z.output<typeof entrySchema>;

/** The same stored secret (a reload parses new objects: compared by content, the salt makes each secret's unique). */
function sameSecret(a: ScryptHash, b: ScryptHash): boolean {
  return a.salt === b.salt && a.hash === b.hash;
}

const fileSchema = z.strictObject({
  version: z.literal(1),
  entries: z.array(z.unknown()),
});

export { CredentialsError };

/** Parses and validates a credentials file's text; errors name the file and the entry. */
export function parseCredentials(text: string, file: string): CredentialEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CredentialsError(`credentials file ${file}: not valid JSON: ${(e as Error).message.slice(0, 200)}`);
  }
  const top = fileSchema.safeParse(json);
  if (!top.success) {
    const issue = top.error.issues[0]!;
    throw new CredentialsError(
      `credentials file ${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message} (expected { "version": 1, "entries": [...] })`,
    );
  }
  const entries: CredentialEntry[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  top.data.entries.forEach((raw, i) => {
    const parsed = entrySchema.safeParse(raw);
    const id = typeof (raw as { id?: unknown })?.id === 'string' ? ` (${(raw as { id: string }).id.slice(0, 64)})` : '';
    if (!parsed.success) {
      errors.push(
        `entry ${i}${id}: ${parsed.error.issues
          .slice(0, 3)
          .map((x) => `${x.path.join('.') || 'entry'}: ${x.message}`)
          .join('; ')}`,
      );
      return;
    }
    if (seen.has(parsed.data.id)) {
      errors.push(`entry ${i}${id}: duplicate id (usernames are unique across devices and gateways)`);
      return;
    }
    seen.add(parsed.data.id);
    entries.push(parsed.data);
  });
  if (errors.length > 0) {
    const more = errors.length > 10 ? `\n... and ${errors.length - 10} more` : '';
    throw new CredentialsError(
      `credentials file ${file}: ${errors.length} invalid entr${errors.length === 1 ? 'y' : 'ies'}:\n${errors.slice(0, 10).join('\n')}${more}`,
    );
  }
  return entries;
}

export function credentialsToJson(entries: readonly CredentialEntry[]): string {
  return `${JSON.stringify({ version: 1, entries }, null, 1)}\n`;
}

function scrypt(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(secret, salt, keyLength, { ...options, maxmem: 256 * options.N! * options.r! + 1024 * 1024 }, (e, key) =>
      e ? reject(e) : resolve(key),
    ),
  );
}

export async function hashSecret(
  secret: string,
  params: { N: number; r: number; p: number; keyLength?: number } = DEFAULT_SCRYPT,
): Promise<ScryptHash> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, params.keyLength ?? 32, { N: params.N, r: params.r, p: params.p });
  return { alg: 'scrypt', N: params.N, r: params.r, p: params.p, salt: salt.toString('base64'), hash: key.toString('base64') };
}

/** Constant-time comparison of a secret against its stored hash. */
export async function verifySecret(secret: string, stored: ScryptHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'base64');
  const key = await scrypt(secret, Buffer.from(stored.salt, 'base64'), expected.length, { N: stored.N, r: stored.r, p: stored.p });
  return timingSafeEqual(key, expected);
}

/** A device secret: 24 random bytes, base64url (32 characters). */
export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Who connects in a city, from its registry: every gateway, and every node that has no gateway
 * (it connects itself). With `allNodes`, nodes behind a gateway get their own entry too.
 */
export function principalsOf(registry: NodeRegistry, options: { allNodes?: boolean } = {}): Principal[] {
  const gateways = new Set<string>();
  const devices: Principal[] = [];
  for (const node of registry.all()) {
    if (node.gatewayId) gateways.add(node.gatewayId);
    if (!node.gatewayId || options.allNodes) devices.push({ type: 'device', id: node.nodeId });
  }
  return [...[...gateways].sort().map((id): Principal => ({ type: 'gateway', id })), ...devices];
}

/** New entries with fresh secrets; the plaintext secrets are returned once and never stored. */
export async function provision(
  principals: readonly Principal[],
  params: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<{ entries: CredentialEntry[]; secrets: (Principal & { password: string })[] }> {
  const secrets = principals.map((p) => ({ ...p, password: generateSecret() }));
  // scrypt runs on libuv's thread pool: a few at a time keeps every core busy without queueing thousands.
  const entries = new Array<CredentialEntry>(secrets.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < secrets.length; i = next++) {
      const s = secrets[i]!;
      entries[i] = { type: s.type, id: s.id, secret: await hashSecret(s.password, params) };
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return { entries, secrets };
}

export interface CredentialStoreOptions {
  /** How long a verified username/secret pair is trusted without scrypt again (reconnect storms). */
  cacheTtlMs?: number;
  now?: () => number;
}

/** The credential store's defaults. */
export const CREDENTIAL_STORE_DEFAULTS = {
  cacheTtlMs: 10 * 60_000,
  now: Date.now,
};

/**
 * The credentials the broker checks against. Successful verifications are remembered briefly as an
 * HMAC of the secret under a per-process key (never the secret), so a device that reconnects does
 * not cost another scrypt. Unknown usernames still cost one scrypt, so timing does not tell which
 * ids exist.
 */
export class CredentialStore {
  #entries = new Map<string, CredentialEntry>();
  /** The secret each logged-in principal proved (by identity of the entry's secret): a rotated secret ends the session too. */
  readonly #proved = new WeakMap<Principal, CredentialEntry['secret']>();
  readonly #listeners = new Set<() => void>();
  readonly #cache = new Map<string, { digest: Buffer; until: number }>();
  readonly #cacheKey = randomBytes(32);
  readonly #ttl: number;
  readonly #now: () => number;
  #dummy: Promise<ScryptHash> | undefined;
  /** scrypt runs on libuv's 4-thread pool, which DNS lookups and file reads share: a login storm may use two threads at most. */
  #free = 2;
  readonly #queue: (() => void)[] = [];
  /** The file the entries came from, if any, and its modification time when read. */
  file: string | undefined;
  #mtimeMs = 0;

  constructor(entries: Iterable<CredentialEntry> = [], options: CredentialStoreOptions = {}) {
    const { cacheTtlMs, now } = withDefaults(CREDENTIAL_STORE_DEFAULTS, options);
    this.#ttl = cacheTtlMs;
    this.#now = now;
    this.replace(entries);
  }

  static async fromFile(file: string, options?: CredentialStoreOptions): Promise<CredentialStore> {
    const store = new CredentialStore([], options);
    store.file = file;
    await store.reload();
    return store;
  }

  /** Re-reads the file; on any error the current entries stay in force and the error is thrown. */
  async reload(): Promise<{ entries: number; changed: boolean }> {
    if (!this.file) return { entries: this.#entries.size, changed: false };
    let text: string;
    let mtimeMs: number;
    try {
      [text, mtimeMs] = await Promise.all([readFile(this.file, 'utf8'), stat(this.file).then((s) => s.mtimeMs)]);
    } catch (e) {
      throw new CredentialsError(
        `credentials file ${this.file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    this.replace(parseCredentials(text, this.file));
    this.#mtimeMs = mtimeMs;
    return { entries: this.#entries.size, changed: true };
  }

  /** Reloads only when the file changed since it was read (cheap to call on a timer). */
  async reloadIfChanged(): Promise<boolean> {
    if (!this.file) return false;
    const mtimeMs = await stat(this.file).then(
      (s) => s.mtimeMs,
      () => this.#mtimeMs,
    );
    if (mtimeMs === this.#mtimeMs) return false;
    await this.reload();
    return true;
  }

  replace(entries: Iterable<CredentialEntry>): void {
    this.#entries = new Map([...entries].map((e) => [e.id, e]));
    this.#cache.clear();
    for (const listener of this.#listeners) listener();
  }

  /** Called after every change of the entries (a reload), e.g. to close the sessions no longer in force. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether a principal's entry is still in force: not revoked, not removed, and (for a principal
   * this store logged in) its secret not rotated since. Checked on every publish from it and every
   * delivery to it, and for every session after a reload.
   */
  active(principal: Principal): boolean {
    const entry = this.#entries.get(principal.id);
    if (entry === undefined || entry.disabled || entry.type !== principal.type) return false;
    const proved = this.#proved.get(principal);
    return proved === undefined || sameSecret(proved, entry.secret);
  }

  #issue(entry: CredentialEntry): Principal {
    const principal: Principal = { type: entry.type, id: entry.id };
    this.#proved.set(principal, entry.secret);
    return principal;
  }

  summary(): { entries: number; devices: number; gateways: number; disabled: number; file?: string } {
    let devices = 0;
    let gateways = 0;
    let disabled = 0;
    for (const e of this.#entries.values()) {
      if (e.disabled) disabled++;
      else if (e.type === 'device') devices++;
      else gateways++;
    }
    return { entries: this.#entries.size, devices, gateways, disabled, ...(this.file ? { file: this.file } : {}) };
  }

  /** Entries that name neither a registered node nor a gateway of the registry (likely stale). */
  unknownIn(registry: NodeRegistry): string[] {
    const gateways = new Set<string>();
    for (const n of registry.all()) if (n.gatewayId) gateways.add(n.gatewayId);
    return [...this.#entries.values()].filter((e) => (e.type === 'device' ? !registry.has(e.id) : !gateways.has(e.id))).map((e) => e.id);
  }

  /**
   * The principal when this username and secret were verified recently (the cache, no scrypt),
   * else undefined: a device reconnecting during a login flood is let in without queueing.
   */
  cached(username: string, secret: string): Principal | undefined {
    const entry = this.#entries.get(username);
    const cached = this.#cache.get(username);
    if (!entry || entry.disabled || !cached || cached.until <= this.#now()) return undefined;
    const digest = createHmac('sha256', this.#cacheKey).update(username).update('\0').update(secret).digest();
    return timingSafeEqual(cached.digest, digest) ? this.#issue(entry) : undefined;
  }

  /** The principal for a username and secret, or null. */
  async verify(username: string, secret: string): Promise<Principal | null> {
    const entry = this.#entries.get(username);
    const digest = createHmac('sha256', this.#cacheKey).update(username).update('\0').update(secret).digest();
    const cached = this.#cache.get(username);
    if (entry && !entry.disabled && cached && cached.until > this.#now() && timingSafeEqual(cached.digest, digest)) {
      return this.#issue(entry);
    }
    if (!entry || entry.disabled) {
      this.#dummy ??= hashSecret(generateSecret());
      const dummy = await this.#dummy;
      await this.#limited(() => verifySecret(secret, dummy));
      return null;
    }
    const ok = await this.#limited(() => verifySecret(secret, entry.secret));
    // The entry may have been replaced by a reload while scrypt ran.
    if (!ok || this.#entries.get(username) !== entry) return null;
    this.#cache.set(username, { digest, until: this.#now() + this.#ttl });
    return this.#issue(entry);
  }

  async #limited<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free === 0) await new Promise<void>((resolve) => this.#queue.push(resolve));
    else this.#free--;
    try {
      return await task();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

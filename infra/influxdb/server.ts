/**
 * A real InfluxDB OSS 1.x server (influxd, built from source once: see build.ts) started as a local
 * process, without Docker: free loopback ports picked at run time, meta/data/wal in a temp dir, a
 * generated influxdb.conf, the database created once it serves.
 *
 *   const influx = await startInfluxdb();  // { url, token, org, bucket, database, pid, stop() }
 *   await fetch(`${influx.url}/api/v2/write?bucket=${influx.bucket}&precision=ms`, { method: 'POST', body: 'm,k=v f=1 1700000000000' });
 *   await influx.stop();                   // ends influxd and removes its data
 *
 * What the INFLUX_* values mean against 1.x:
 * - url: `http://127.0.0.1:<port>`; serves /api/v2/write (bucket = `<db>/<retention policy>`),
 *   InfluxQL on /query, Flux on /api/v2/query (flux-enabled), /health and /ping.
 * - token: by default the server runs with HTTP auth off (local dev/test server on loopback), so any
 *   `Authorization: Token ...` is accepted and ignored; the value `citybrain:citybrain` is the form a
 *   1.x server with auth on expects (`Token user:password`). With `auth: true` the server has auth on
 *   and an admin user `citybrain` / `citybrain`, so the token is really checked (401 without it).
 * - org: ignored by 1.x; any string (`citybrain`).
 * - bucket: `citybrain/autogen` (database `citybrain`, its default retention policy).
 *
 * Outages (tests): `await influx.halt()` ends influxd (SIGTERM, waits for it to exit) but keeps its
 * data dir, config and ports; `await influx.resume()` starts the same binary on the same config and
 * resolves once /health passes again, so clients reach the same `url` and find every stored point.
 * `pid` follows the running process; `stop()` works in any state.
 *
 * Attached (default, for tests): a watchdog shell around influxd ends it (and removes the data)
 * within a second if this Node process dies without calling stop(); while halted, a small reaper
 * shell does the data part. Detached (`infra:up`): influxd
 * is its own process group and outlives this process; `down` ends it by pid.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts, LOOPBACK, withLogTail, serverDirs } from '../process.js';
import { supervise, type ServerState } from '../supervise.js';
import { ensureInfluxd } from './build.js';

export const DEFAULT_DATABASE = 'citybrain';
export const DEFAULT_RETENTION_POLICY = 'autogen';
export const DEFAULT_USER = 'citybrain';
export const DEFAULT_PASSWORD = 'citybrain';
export const DEFAULT_ORG = 'citybrain';

export interface StartInfluxdbOptions {
  /** Where influxd keeps meta/data/wal and its config; default a fresh temp dir. Removed by stop(). */
  dataDir?: string;
  /** influxd's stdout/stderr; default `<dataDir>/influxd.log`. */
  logFile?: string;
  /** Let influxd outlive this process (its own process group, no watchdog). Default false. */
  detached?: boolean;
  /** Database to create; default `citybrain`. */
  database?: string;
  /** HTTP auth on, with an admin user `citybrain`/`citybrain` (the token then really matters). Default false. */
  auth?: boolean;
  /** The binary; default the cached build (built first if missing; see build.ts). */
  binary?: string;
  /** How long to wait for /health; default 60 s. */
  readyTimeoutMs?: number;
  /** Progress lines (build, start); default silent. */
  log?: (line: string) => void;
}

export interface InfluxdbServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** For `Authorization: Token <token>`: `citybrain:citybrain` (ignored unless started with auth). */
  token: string;
  org: string;
  /** `<database>/<retention policy>`, as /api/v2/write?bucket= takes it. */
  bucket: string;
  database: string;
  retentionPolicy: string;
  /**
   * Pid of the process to end (influxd when detached, its watchdog shell otherwise; both lead their
   * process group). A getter: it changes with resume(); while halted, the pid of the last run.
   */
  readonly pid: number;
  /** See InfluxdbState (a getter). */
  readonly state: InfluxdbState;
  /** Address of influxd's RPC service (backup/restore), also on loopback. */
  rpcAddress: string;
  dataDir: string;
  logFile: string;
  configFile: string;
  version: string;
  auth: boolean;
  /** Milliseconds from spawning influxd to /health answering. */
  startMs: number;
  /** Ends influxd (SIGTERM to its process group, SIGKILL after 20 s) and removes its data dir. Works in any state; idempotent. */
  stop(): Promise<void>;
  /**
   * Ends influxd like stop() (SIGTERM to its process group, SIGKILL after `graceMs`, default 20 s)
   * and waits for it to be gone, but keeps its data dir, config and ports for resume(). A no-op
   * when already halted or stopped.
   */
  halt(options?: { graceMs?: number }): Promise<void>;
  /**
   * Starts the same binary again on the same config, ports and data dir (the log file is appended
   * to) and resolves once /health passes. A no-op when running; rejects after stop(), and (staying
   * halted) if influxd does not come back within `readyTimeoutMs`, e.g. because another process
   * took one of its ports meanwhile.
   */
  resume(): Promise<void>;
}

/** `running` from start and after resume(), `halted` after halt(), `stopped` once stop() was called. */
export type InfluxdbState = ServerState;

const toml = (s: string) => JSON.stringify(s);

export function influxdbConfig(o: { dataDir: string; httpPort: number; rpcPort: number; auth: boolean }): string {
  return `# generated by infra/influxdb/server.ts: a local dev/test server on loopback
reporting-disabled = true
bind-address = ${toml(`${LOOPBACK}:${o.rpcPort}`)}

[meta]
  dir = ${toml(join(o.dataDir, 'meta'))}
  retention-autocreate = true
  logging-enabled = true

[data]
  dir = ${toml(join(o.dataDir, 'data'))}
  wal-dir = ${toml(join(o.dataDir, 'wal'))}
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false
  cache-max-memory-size = "256m"
  max-concurrent-compactions = 1

[coordinator]
  write-timeout = "10s"

[retention]
  enabled = true
  check-interval = "30m"

[shard-precreation]
  enabled = true

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = ${toml(`${LOOPBACK}:${o.httpPort}`)}
  auth-enabled = ${o.auth}
  flux-enabled = true
  log-enabled = false
  pprof-enabled = false
  max-body-size = 25000000

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true

[subscriber]
  enabled = false

[continuous_queries]
  enabled = true
`;
}

/** `Authorization` header value for a 1.x server: `Token user:password`. */
export const authHeader = (token: string) => `Token ${token}`;

/** Runs one InfluxQL statement with POST /query; rejects on an HTTP error or a statement error. */
export async function influxql(url: string, q: string, opts: { db?: string; token?: string } = {}): Promise<unknown> {
  const body = new URLSearchParams({ q, ...(opts.db ? { db: opts.db } : {}) });
  const response = await fetch(`${url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(opts.token ? { authorization: authHeader(opts.token) } : {}) },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url}/query ${JSON.stringify(q)}: HTTP ${response.status} ${text.trim()}`);
  const json = JSON.parse(text) as { results?: Array<{ error?: string }>; error?: string };
  const error = json.error ?? json.results?.find((r) => r.error)?.error;
  if (error) throw new Error(`POST ${url}/query ${JSON.stringify(q)}: ${error}`);
  return json;
}

async function waitForHealth(url: string, timeoutMs: number, failed: () => string | null): Promise<string> {
  const until = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(reason);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      const text = await response.text();
      if (response.ok) {
        const health = JSON.parse(text) as { status?: string; version?: string };
        if (health.status === 'pass') return health.version ?? 'unknown';
        last = `status ${health.status}`;
      } else {
        last = `HTTP ${response.status} ${text.trim().slice(0, 200)}`;
      }
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > until)
      throw new Error(`InfluxDB at ${url} did not answer /health within ${Math.round(timeoutMs / 1000)} s (last error: ${last})`);
    await sleep(200);
  }
}

export async function startInfluxdb(options: StartInfluxdbOptions = {}): Promise<InfluxdbServer> {
  const log = options.log ?? (() => {});
  const binary = options.binary ?? (await ensureInfluxd({ log })).binary;
  const database = options.database ?? DEFAULT_DATABASE;
  if (!/^[A-Za-z0-9_-]+$/.test(database)) throw new Error(`database name ${JSON.stringify(database)}: use letters, digits, _ and - only`);
  const auth = options.auth ?? false;

  const { dataDir, logFile, cleanup } = serverDirs('influxdb', 'influxd.log', options);
  const configFile = join(dataDir, 'influxdb.conf');
  for (const dir of ['meta', 'data', 'wal']) mkdirSync(join(dataDir, dir), { recursive: true });

  try {
    const [httpPort, rpcPort] = (await freePorts(2)) as [number, number];
    const url = `http://${LOOPBACK}:${httpPort}`;
    writeFileSync(configFile, influxdbConfig({ dataDir, httpPort, rpcPort, auth }));
    // INFLUXDB_* variables override the config file in influxd: keep the caller's out.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INFLUXDB_')));
    const args = ['run', '-config', configFile];
    const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;

    const started = Date.now();
    let version = '';
    const server = await supervise({
      name: 'influxd',
      address: url,
      command: binary,
      args,
      env,
      dataDir,
      logFile,
      ports: [httpPort, rpcPort],
      detached: options.detached,
      readyTimeoutMs,
      ready: async (gone) => {
        version = await waitForHealth(url, readyTimeoutMs, gone);
      },
      cleanup,
      log,
    });
    const token = `${DEFAULT_USER}:${DEFAULT_PASSWORD}`;
    try {
      if (auth) await influxql(url, `CREATE USER ${DEFAULT_USER} WITH PASSWORD '${DEFAULT_PASSWORD}' WITH ALL PRIVILEGES`);
      await influxql(url, `CREATE DATABASE "${database}"`, auth ? { token } : {});
    } catch (error) {
      const message = withLogTail((error as Error).message, logFile);
      await server.stop();
      throw new Error(message, { cause: error });
    }
    const startMs = Date.now() - started;
    log(`InfluxDB ${version} serves on ${url} after ${(startMs / 1000).toFixed(1)} s (database ${database}, auth ${auth ? 'on' : 'off'})`);
    return {
      url,
      token,
      org: DEFAULT_ORG,
      bucket: `${database}/${DEFAULT_RETENTION_POLICY}`,
      database,
      retentionPolicy: DEFAULT_RETENTION_POLICY,
      get pid() {
        return server.pid;
      },
      get state() {
        return server.state;
      },
      rpcAddress: `${LOOPBACK}:${rpcPort}`,
      dataDir,
      logFile,
      configFile,
      version,
      auth,
      startMs,
      stop: () => server.stop(),
      halt: (haltOptions?: { graceMs?: number }) => server.halt(haltOptions),
      resume: () => server.resume(),
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}

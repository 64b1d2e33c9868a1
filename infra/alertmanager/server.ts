/**
 * A real Prometheus Alertmanager started as a local process, without Docker: Debian's
 * `prometheus-alertmanager` package (binary /usr/bin/prometheus-alertmanager, 0.25 on bookworm),
 * a free loopback port, clustering off, storage in a temp dir, a config file (default: the shipped
 * routing from dashboards/alertmanager.ts).
 *
 *   const am = await startAlertmanager({ config: renderAlertmanagerConfig({ ... }) });
 *   // { url, pid, version, configFile, stop() }
 *
 * The binary: $ALERTMANAGER_BIN, else `prometheus-alertmanager` or `alertmanager` on PATH. When
 * missing, `ensureAlertmanager({ install: true })` (the fixture and `infra:up` do) runs
 * `apt-get install -y prometheus-alertmanager` (then `apt-get update` and again if that fails) when
 * running as root with apt-get; CI installs it ahead: `apt-get install -y prometheus-alertmanager`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderAlertmanagerConfig } from '../../dashboards/alertmanager.js';
import { freePort, LOOPBACK, run, serverDirs } from '../process.js';
import { ensureDebianBinary, findBinary } from '../apt.js';
import { supervise } from '../supervise.js';

export const ALERTMANAGER_DEBIAN_PACKAGE = 'prometheus-alertmanager';
export const ALERTMANAGER_BINARIES = ['prometheus-alertmanager', 'alertmanager'] as const;

export interface StartAlertmanagerOptions {
  /** An existing config file; used as is (not removed by stop()). */
  configFile?: string;
  /** Config YAML, written to `<dataDir>/alertmanager.yml`. Default (without configFile): the shipped routing. */
  config?: string;
  /** Listen port on 127.0.0.1; default a free one (pass one to restart a server at the same address). */
  port?: number;
  /** Storage (silences, notification log) and the generated config; default a fresh temp dir. Removed by stop(). */
  dataDir?: string;
  /** stdout/stderr; default `<dataDir>/alertmanager.log`. */
  logFile?: string;
  /** Let Alertmanager outlive this process (its own process group, no watchdog). Default false. */
  detached?: boolean;
  /** The binary; default ensureAlertmanager(). */
  binary?: string;
  /** Install the Debian package when the binary is missing (root + apt-get). Default true. */
  install?: boolean;
  /** How long to wait for /-/ready; default 30 s. */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface AlertmanagerServer {
  /** `http://127.0.0.1:<port>`; the v2 API is at `${url}/api/v2`. */
  url: string;
  port: number;
  /** Pid to end (the binary when detached, its watchdog shell otherwise; both lead their process group). */
  pid: number;
  version: string;
  binary: string;
  configFile: string;
  dataDir: string;
  logFile: string;
  /** Milliseconds from spawning to /-/ready answering. */
  startMs: number;
  /** Ends Alertmanager (SIGTERM to its process group, SIGKILL after 20 s) and removes its data dir. */
  stop(): Promise<void>;
}

const ALERTMANAGER = { pkg: ALERTMANAGER_DEBIAN_PACKAGE, names: ALERTMANAGER_BINARIES, envVar: 'ALERTMANAGER_BIN' } as const;

/** The Alertmanager binary if present: $ALERTMANAGER_BIN, PATH, the system dirs; else null. */
export function findAlertmanager(): string | null {
  return findBinary(ALERTMANAGER.names, ALERTMANAGER.envVar);
}

/** The binary, installing Debian's package first when it is missing and `install` allows it. */
export function ensureAlertmanager({
  install = true,
  log = (_: string) => {},
}: { install?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  return ensureDebianBinary({ ...ALERTMANAGER, install, log });
}

export async function alertmanagerVersion(binary: string): Promise<string> {
  const result = await run(binary, ['--version']);
  return /version (\S+)/.exec(result.output)?.[1] ?? 'unknown';
}

async function waitForReady(url: string, timeoutMs: number, failed: () => string | null): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(reason);
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) });
      const text = await response.text();
      if (response.ok) return;
      last = `HTTP ${response.status} ${text.trim().slice(0, 200)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > until)
      throw new Error(`Alertmanager at ${url} was not ready (/-/ready) within ${Math.round(timeoutMs / 1000)} s (last error: ${last})`);
    await sleep(100);
  }
}

export async function startAlertmanager(options: StartAlertmanagerOptions = {}): Promise<AlertmanagerServer> {
  const log = options.log ?? (() => {});
  const binary = options.binary ?? (await ensureAlertmanager({ install: options.install ?? true, log }));
  const version = await alertmanagerVersion(binary);

  const { dataDir, logFile, cleanup } = serverDirs('alertmanager', 'alertmanager.log', options);
  const storage = join(dataDir, 'storage');
  mkdirSync(storage, { recursive: true });

  try {
    let configFile: string;
    if (options.configFile) {
      configFile = resolve(options.configFile);
      if (!existsSync(configFile)) throw new Error(`Alertmanager config ${configFile} does not exist`);
    } else {
      configFile = join(dataDir, 'alertmanager.yml');
      writeFileSync(configFile, options.config ?? renderAlertmanagerConfig());
    }
    const port = options.port ?? (await freePort());
    const url = `http://${LOOPBACK}:${port}`;
    const args = [
      `--config.file=${configFile}`,
      `--storage.path=${storage}`,
      `--web.listen-address=${LOOPBACK}:${port}`,
      // Empty: no gossip cluster (no extra ports, no peers to wait for).
      '--cluster.listen-address=',
      '--log.level=info',
    ];
    const started = Date.now();
    const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    const server = await supervise({
      name: 'Alertmanager',
      address: url,
      command: binary,
      args,
      dataDir,
      logFile,
      ports: [port],
      detached: options.detached,
      readyTimeoutMs,
      ready: (gone) => waitForReady(url, readyTimeoutMs, gone),
      cleanup,
      log,
    });
    const startMs = Date.now() - started;
    log(`Alertmanager ${version} ready on ${url} after ${(startMs / 1000).toFixed(1)} s`);
    return { url, port, pid: server.pid, version, binary, configFile, dataDir, logFile, startMs, stop: () => server.stop() };
  } catch (error) {
    cleanup();
    throw error;
  }
}

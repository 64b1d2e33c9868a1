/**
 * A real Eclipse Mosquitto broker as a local process, without Docker: Debian's `mosquitto` package
 * (binary /usr/sbin/mosquitto, 2.0 on bookworm), a free loopback port, anonymous access, no
 * persistence. The benchmark drives the same MQTT load through it to a plain subscriber as a
 * baseline for our own ingest.
 *
 *   const m = await startMosquitto(); // { url: 'mqtt://127.0.0.1:<port>', pid, version, stop() }
 *
 * The binary: $MOSQUITTO_BIN, else `mosquitto` on PATH or in /usr/sbin. When missing and running as
 * root with apt-get, it is installed (`apt-get install -y mosquitto`, then `apt-get update` and
 * again if that fails); CI installs it ahead (.ci/run).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, LOOPBACK, run, serverDirs } from '../process.js';
import { ensureDebianBinary, findBinary } from '../apt.js';
import { supervise } from '../supervise.js';

export const MOSQUITTO_DEBIAN_PACKAGE = 'mosquitto';

export interface StartMosquittoOptions {
  port?: number;
  /** Config, data and log; default a fresh temp dir. Removed by stop(). */
  dataDir?: string;
  logFile?: string;
  /** Outlive this process (infra:up). Default false. */
  detached?: boolean;
  binary?: string;
  /** Install the Debian package when missing (root + apt-get). Default true. */
  install?: boolean;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface MosquittoServer {
  /** `mqtt://127.0.0.1:<port>`. */
  url: string;
  port: number;
  pid: number;
  version: string;
  binary: string;
  configFile: string;
  dataDir: string;
  logFile: string;
  startMs: number;
  stop(): Promise<void>;
}

const MOSQUITTO = { pkg: MOSQUITTO_DEBIAN_PACKAGE, names: ['mosquitto'], envVar: 'MOSQUITTO_BIN' } as const;

/** The mosquitto binary if present: $MOSQUITTO_BIN, PATH, the system dirs; else null. */
export function findMosquitto(): string | null {
  return findBinary(MOSQUITTO.names, MOSQUITTO.envVar);
}

export function ensureMosquitto({
  install = true,
  log = (_: string) => {},
}: { install?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  return ensureDebianBinary({ ...MOSQUITTO, install, log });
}

export async function mosquittoVersion(binary: string): Promise<string> {
  // `mosquitto -h` prints "mosquitto version 2.0.11" and exits 3.
  const result = await run(binary, ['-h']);
  return /version (\S+)/.exec(result.output)?.[1] ?? 'unknown';
}

/** The broker's configuration: one loopback listener, anonymous, in memory, generous queues (a benchmark must not drop). */
export function mosquittoConfig(port: number): string {
  return [
    `listener ${port} ${LOOPBACK}`,
    'allow_anonymous true',
    'persistence false',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'max_queued_messages 0',
    'max_queued_bytes 0',
    'max_inflight_messages 0',
    'max_packet_size 2097152',
    '',
  ].join('\n');
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: LOOPBACK });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export async function startMosquitto(options: StartMosquittoOptions = {}): Promise<MosquittoServer> {
  const log = options.log ?? (() => {});
  const binary = options.binary ?? (await ensureMosquitto({ install: options.install ?? true, log }));
  const version = await mosquittoVersion(binary);
  const { dataDir, logFile, cleanup } = serverDirs('mosquitto', 'mosquitto.log', options);
  try {
    const port = options.port ?? (await freePort());
    const configFile = join(dataDir, 'mosquitto.conf');
    writeFileSync(configFile, mosquittoConfig(port));
    const url = `mqtt://${LOOPBACK}:${port}`;
    const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
    const started = Date.now();
    const server = await supervise({
      name: 'Mosquitto',
      address: url,
      command: binary,
      args: ['-c', configFile],
      dataDir,
      logFile,
      ports: [port],
      detached: options.detached,
      readyTimeoutMs,
      ready: async (gone) => {
        const until = Date.now() + readyTimeoutMs;
        for (;;) {
          const reason = gone();
          if (reason) throw new Error(reason);
          if (await tcpOpen(port)) return;
          if (Date.now() > until) throw new Error(`Mosquitto did not listen on ${LOOPBACK}:${port} within ${readyTimeoutMs / 1000} s`);
          await sleep(50);
        }
      },
      cleanup,
      log,
    });
    const startMs = Date.now() - started;
    log(`Mosquitto ${version} ready on ${url} after ${(startMs / 1000).toFixed(1)} s`);
    return { url, port, pid: server.pid, version, binary, configFile, dataDir, logFile, startMs, stop: () => server.stop() };
  } catch (error) {
    cleanup();
    throw error;
  }
}

/**
 * Small process helpers shared by the local services (Kafka, InfluxDB, Alertmanager, Mosquitto):
 * free loopback ports, a server's working directory, running a command to completion, waiting for
 * a pid to exit, reading the tail of a log.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const LOOPBACK = '127.0.0.1';

/**
 * A local server's working directory and log: `dataDir` as given (created) or a new temporary
 * one, `logFile` as given or `defaultLog` inside it (its directory created), and `cleanup` to
 * remove the data directory.
 */
export function serverDirs(
  name: string,
  defaultLog: string,
  options: { dataDir?: string; logFile?: string },
): { dataDir: string; logFile: string; cleanup: () => void } {
  const dataDir = options.dataDir ? resolve(options.dataDir) : mkdtempSync(join(tmpdir(), `city-brain-${name}-`));
  mkdirSync(dataDir, { recursive: true });
  const logFile = resolve(options.logFile ?? join(dataDir, defaultLog));
  mkdirSync(dirname(logFile), { recursive: true });
  return { dataDir, logFile, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** Asks the kernel for a free loopback port (closed again at once; the service binds it next). */
export function freePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** Distinct free ports (asked one after the other while the earlier ones are still held). */
export async function freePorts(count: number, host = LOOPBACK): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(host));
  return [...ports];
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a command to completion and collects stdout+stderr (bounded). Rejects only if it cannot start. */
export function run(command: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, output }));
  });
}

/** Whether `command` can be started (it is on PATH). */
export async function onPath(command: string, args = ['-version']): Promise<boolean> {
  try {
    await run(command, args);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Sends SIGTERM to one pid (or its process group with `group`), waits up to `graceMs` for it to
 * go, then SIGKILL. Resolves once the process is gone.
 */
export async function terminate(pid: number, { graceMs = 20_000, group = false } = {}): Promise<void> {
  const target = group ? -pid : pid;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(target, sig);
    } catch {
      /* already gone */
    }
  };
  if (!isAlive(pid)) return;
  signal('SIGTERM');
  const until = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < until) await sleep(100);
  if (!isAlive(pid)) return;
  signal('SIGKILL');
  while (isAlive(pid)) await sleep(50);
}

/** The last `lines` lines of a text file ('' if it does not exist). Reads at most 64 KiB. */
export function tail(file: string, lines = 30): string {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 65_536);
    const buffer = Buffer.alloc(length);
    fd = openSync(file, 'r');
    readSync(fd, buffer, 0, length, size - length);
    return buffer
      .toString()
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A one-line-per-error message with the log tail appended, indented so it reads as one block. */
export function withLogTail(message: string, logFile: string, lines = 30): string {
  const text = tail(logFile, lines);
  return text ? `${message}\n--- last lines of ${logFile} ---\n${text.replace(/^/gm, '  ')}` : `${message} (log: ${logFile}, empty)`;
}

/**
 * Shell wrapper for a test server: runs "$@" and, if the parent (test) process dies first, ends
 * the server and removes its data dir. Arguments: parent pid, data dir, then the command.
 */
export const WATCHDOG = `parent=$1; data=$2; shift 2
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
if kill -0 "$parent" 2>/dev/null; then wait "$child"; exit $?; fi
kill -TERM "$child" 2>/dev/null; wait "$child"
[ -n "$data" ] && rm -rf "$data"
exit 0`;

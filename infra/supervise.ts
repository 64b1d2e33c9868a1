import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { LOOPBACK, terminate, WATCHDOG, withLogTail } from './process.js';

export type ServerState = 'running' | 'halted' | 'stopped';

export interface SuperviseOptions {
  /** For messages and process titles: `Kafka`, `influxd`. */
  name: string;
  /** Where it serves, for messages: `127.0.0.1:9092`, `http://127.0.0.1:8086`. */
  address: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  dataDir: string;
  logFile: string;
  /** Ports the server binds: resume() waits until they are free again. */
  ports: number[];
  /** Started detached (`infra:up`): no watchdog, it outlives this process. */
  detached?: boolean;
  readyTimeoutMs: number;
  /** Resolves once the server serves; `gone()` returns a reason to give up (it exited, stop() was called). */
  ready(gone: () => string | null): Promise<void>;
  /** Removes the data dir. */
  cleanup(): void;
  log(message: string): void;
}

export interface Supervised {
  /** The server's pid (after resume(), the new one; while halted, the last one). */
  readonly pid: number;
  readonly state: ServerState;
  /** Stops the process, keeping data, config and ports, so resume() brings the same server back. */
  halt(options?: { graceMs?: number }): Promise<void>;
  resume(): Promise<void>;
  /** Ends whatever runs and removes the data; safe in any state and twice. */
  stop(): Promise<void>;
}

/** While halted (attached): removes the data if the parent Node process dies; ended by resume()/stop(). */
const REAPER = `parent=$1; data=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
rm -rf "$data"`;

/** Waits (bounded) until no process is left in process group `pgid` (the server too, not only the shell). */
async function groupGone(pgid: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** One run of the server: its pid and, once it is gone, why. */
interface Run {
  pid: number;
  readonly exited: string | null;
}

function spawnRun(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; logFile?: string; append?: boolean; what: string },
): Run {
  const out = options.logFile ? openSync(options.logFile, options.append ? 'a' : 'w') : 'ignore';
  const child = spawn(command, args, { detached: true, env: options.env ?? process.env, stdio: ['ignore', out, out] });
  if (typeof out === 'number') closeSync(out);
  const state = { exited: null as string | null };
  child.once('exit', (code, signal) => (state.exited = `${options.what} (${signal ?? `exit ${code}`})`));
  child.once('error', (error) => (state.exited = `${options.what}: ${error.message}`));
  // The server must not keep this process alive (tests, CLI); stop() ends it explicitly.
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return {
    pid: child.pid,
    get exited() {
      return state.exited;
    },
  };
}

/**
 * A test or local server as a child process: started (behind the watchdog unless detached),
 * waited for, and halted / resumed with the same data and ports, or stopped with its data
 * removed. halt, resume and stop run one after the other.
 */
export async function supervise(o: SuperviseOptions): Promise<Supervised> {
  const launch = async (phase: 'start-up' | 'resume', append: boolean): Promise<Run> => {
    const [command, args] = o.detached
      ? [o.command, o.args]
      : ['/bin/sh', ['-c', WATCHDOG, `city-brain-${o.name.toLowerCase()}-watchdog`, String(process.pid), o.dataDir, o.command, ...o.args]];
    const run = spawnRun(command, args, { env: o.env, logFile: o.logFile, append, what: `${o.name} exited during ${phase}` });
    await new Promise((r) => setImmediate(r)); // let a failed spawn report itself
    return run;
  };
  /** Ends a run (its whole process group) unless it is known to be gone already (its pid may be reused then). */
  const end = async (r: Run, graceMs = 20_000) => {
    if (r.exited === null) await terminate(r.pid, { group: true, graceMs });
    await groupGone(r.pid);
  };

  let reaper: Run | null = null;
  const startReaper = () => {
    if (!o.detached)
      reaper = spawnRun('/bin/sh', ['-c', REAPER, `city-brain-${o.name.toLowerCase()}-reaper`, String(process.pid), o.dataDir], {
        what: 'reaper exited',
      });
  };
  const endReaper = async () => {
    const r = reaper;
    reaper = null;
    if (r) await end(r, 2000);
  };

  let current: Run | null = await launch('start-up', false);
  let lastPid = current.pid;
  let state: ServerState = 'running';
  let stopping = false;

  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task);
    queue = next.catch(() => {});
    return next;
  };

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    if (stopped) return stopped;
    stopping = true; // makes a resume() in progress give up at once
    stopped = serial(async () => {
      const r = current;
      current = null;
      state = 'stopped';
      if (r) await end(r);
      await endReaper();
      o.cleanup();
    });
    return stopped;
  };

  const halt = (options: { graceMs?: number } = {}) =>
    serial(async () => {
      if (state !== 'running' || stopping || !current) return;
      const r = current;
      o.log(`halting ${o.name} on ${o.address} (pid ${r.pid}); data kept in ${o.dataDir}`);
      await end(r, options.graceMs ?? 20_000);
      current = null;
      state = 'halted';
      startReaper();
    });

  const resume = () =>
    serial(async () => {
      if (stopping || state === 'stopped') throw new Error(`${o.name} on ${o.address} was stopped: resume() needs a halted server`);
      if (state === 'running') return;
      await endReaper();
      const t0 = Date.now();
      let r: Run | null = null;
      try {
        const until = Date.now() + Math.min(o.readyTimeoutMs, 15_000);
        for (const port of o.ports) {
          while (!(await canBind(port))) {
            if (Date.now() > until)
              throw new Error(
                `cannot resume ${o.name} on its ports: ${LOOPBACK}:${port} is in use (taken by another process while it was halted?)`,
              );
            await sleep(250);
          }
        }
        appendFileSync(o.logFile, `\n[${new Date().toISOString()}] ---- city-brain: resuming ${o.name} after halt() ----\n`);
        r = await launch('resume', true);
        o.log(`resuming ${o.name} on ${o.address} (pid ${r.pid}, data ${o.dataDir})`);
        const run = r;
        await o.ready(() => (stopping ? 'stop() was called while resuming' : run.exited));
      } catch (error) {
        const message = withLogTail((error as Error).message, o.logFile);
        if (r) await end(r);
        if (!stopping) startReaper();
        throw new Error(message, { cause: error });
      }
      current = r;
      lastPid = r.pid;
      state = 'running';
      o.log(`${o.name} serves on ${o.address} again after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

  o.log(`starting ${o.name} on ${o.address} (pid ${lastPid}, data ${o.dataDir}, log ${o.logFile})`);
  try {
    const first = current;
    await o.ready(() => first.exited);
  } catch (error) {
    const message = withLogTail((error as Error).message, o.logFile);
    await stop();
    throw new Error(message, { cause: error });
  }
  return {
    get pid() {
      return lastPid;
    },
    get state() {
      return state;
    },
    halt,
    resume,
    stop,
  };
}

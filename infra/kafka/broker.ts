/**
 * A real single-node Apache Kafka (KRaft: broker and controller in one JVM) started as a local
 * process, without Docker: jars from Maven Central (see dist.ts), free loopback ports picked at
 * run time, data in a temp dir, storage formatted with a generated cluster id.
 *
 *   const kafka = await startKafka();   // { brokers: ['127.0.0.1:PORT'], stop() }
 *   ...
 *   await kafka.stop();                 // kills the JVM and removes its data
 *
 * Outages (tests): `await kafka.halt()` ends the JVM but keeps its data, config and ports;
 * `await kafka.resume()` starts it again on them and resolves once it serves metadata, so clients
 * reconnect to the same `brokers` and find every committed record and offset. `pid` follows the
 * running process; `stop()` works in any state.
 *
 * Attached (default, for tests): a watchdog shell around the JVM ends it (and removes the data)
 * within a second if this Node process dies without calling stop(); while halted, a small reaper
 * shell does the data part. Detached (`infra:up`): the JVM is its own process group and outlives
 * this process; `down` ends it by pid.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePorts, LOOPBACK, run, terminate, WATCHDOG, withLogTail } from '../process.js';
import { checkJava, kafkaLibs } from './dist.js';

export interface StartKafkaOptions {
  /** Where the broker keeps its data and config; default a fresh temp dir. Removed by stop(). */
  dataDir?: string;
  /** The broker's stdout/stderr (its log4j output); default `<dataDir>/broker.log`. */
  logFile?: string;
  /** Let the broker outlive this process (its own process group, no watchdog). Default false. */
  detached?: boolean;
  /** JVM heap flags; default `-Xms256m -Xmx512m`. */
  heap?: string[];
  /** Default partition count of topics created without one. */
  numPartitions?: number;
  /** How long to wait for the broker to serve metadata; default 120 s. */
  readyTimeoutMs?: number;
  /** Progress lines (download, start); default silent. */
  log?: (line: string) => void;
}

/** `running` from start and after resume(), `halted` after halt(), `stopped` once stop() was called. */
export type KafkaBrokerState = 'running' | 'halted' | 'stopped';

export interface HaltOptions {
  /** How long to wait after SIGTERM (controlled shutdown) before SIGKILL; default 20 s. */
  graceMs?: number;
}

export interface KafkaBroker {
  /** `host:port` of the PLAINTEXT listener (the same after resume()). */
  brokers: string[];
  /**
   * Pid of the process to end (the JVM when detached, its watchdog shell otherwise; both lead their
   * process group). A getter: it changes with resume(); while halted, the pid of the last run.
   */
  readonly pid: number;
  /** See KafkaBrokerState (a getter). */
  readonly state: KafkaBrokerState;
  dataDir: string;
  logFile: string;
  version: string;
  /** Milliseconds from spawning the JVM to serving metadata (the first start; resume() leaves it). */
  startMs: number;
  /** Ends the broker (SIGTERM to its process group, SIGKILL after 20 s) and removes its data dir. Works in any state; idempotent. */
  stop(): Promise<void>;
  /**
   * Ends the broker process like stop() (SIGTERM to its process group, SIGKILL after `graceMs`)
   * and waits for it to be gone, but keeps its data dir, config and ports for resume(). A no-op
   * when already halted or stopped.
   */
  halt(options?: HaltOptions): Promise<void>;
  /**
   * Starts the JVM again on the same config, ports and data dir (the log file is appended to) and
   * resolves once it serves metadata, like the first start. A no-op when running; rejects after
   * stop(), and (staying halted) if the broker does not come back within `readyTimeoutMs`, e.g.
   * because another process took one of its ports meanwhile.
   */
  resume(): Promise<void>;
}

/** A random Kafka cluster id: 16 bytes, URL-safe base64 without padding, not starting with '-'. */
export function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function serverProperties(o: { brokerPort: number; controllerPort: number; logDir: string; numPartitions: number }): string {
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${LOOPBACK}:${o.controllerPort}`,
    listeners: `PLAINTEXT://${LOOPBACK}:${o.brokerPort},CONTROLLER://${LOOPBACK}:${o.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${LOOPBACK}:${o.brokerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': o.logDir,
    'num.partitions': o.numPartitions,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'false',
    // A small dev/test broker: few threads, small segments, quick shutdown.
    'num.network.threads': 2,
    'num.io.threads': 4,
    'num.recovery.threads.per.data.dir': 1,
    'log.segment.bytes': 64 * 1024 * 1024,
    'log.retention.check.interval.ms': 60_000,
    'controlled.shutdown.enable': 'true',
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

const LOG4J2 = (level: string) => `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${level}
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = ${level}
logger.apache.name = org.apache.kafka
logger.apache.level = ${level}
`;

/** Ends the JVM (and the watchdog shell around it) when the parent Node process goes away. */


/** While halted (attached): removes the data if the parent Node process dies; ended by resume()/stop(). */
const REAPER = `parent=$1; data=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
rm -rf "$data"`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until no process is left in process group `pgid` (the JVM too, not only the leader). */
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

/** Waits (bounded) until every port can be bound again; throws naming the first one still taken. */
async function portsFree(ports: number[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await canBind(port))) {
      if (Date.now() > until) throw new Error(`cannot resume Kafka on its ports: ${LOOPBACK}:${port} is in use (taken by another process while the broker was halted?)`);
      await sleep(250);
    }
  }
}

/** Resolves once a client can read cluster metadata from `broker`; rejects on `abort()` or timeout. */
async function waitForMetadata(broker: string, timeoutMs: number, failed: () => string | null): Promise<void> {
  const kafka = new Kafka({ clientId: 'city-brain-infra', brokers: [broker], logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 5000, retry: { retries: 0 } });
  const until = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(reason);
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
      last = 'no brokers in metadata yet';
    } catch (error) {
      last = (error as Error).message;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() > until) throw new Error(`Kafka at ${broker} did not serve metadata within ${Math.round(timeoutMs / 1000)} s (last error: ${last})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const log = options.log ?? (() => {});
  const java = process.env.JAVA ?? 'java';
  await checkJava(java);
  const libs = await kafkaLibs({ log });

  const dataDir = options.dataDir ? resolve(options.dataDir) : mkdtempSync(join(tmpdir(), 'city-brain-kafka-'));
  const configDir = join(dataDir, 'config');
  const logDir = join(dataDir, 'kraft');
  const logFile = resolve(options.logFile ?? join(dataDir, 'broker.log'));
  mkdirSync(configDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  mkdirSync(dirname(logFile), { recursive: true });
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });

  try {
    const [brokerPort, controllerPort] = (await freePorts(2)) as [number, number];
    const broker = `${LOOPBACK}:${brokerPort}`;
    const properties = join(configDir, 'server.properties');
    writeFileSync(properties, serverProperties({ brokerPort, controllerPort, logDir, numPartitions: options.numPartitions ?? 1 }));
    writeFileSync(join(configDir, 'log4j2.properties'), LOG4J2('INFO'));
    writeFileSync(join(configDir, 'log4j2-tools.properties'), LOG4J2('WARN'));
    const classpath = `${libs.dir}/*`;
    const common = ['-Djava.awt.headless=true', '-XX:+ExitOnOutOfMemoryError', '-cp', classpath];

    const formatArgs = ['-Xms64m', '-Xmx256m', `-Dlog4j2.configurationFile=${join(configDir, 'log4j2-tools.properties')}`, ...common, 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId(), '--config', properties];
    const formatted = await run(java, formatArgs);
    if (formatted.code !== 0) {
      throw new Error(`formatting Kafka storage failed (exit ${formatted.code ?? formatted.signal}): ${java} ${formatArgs.join(' ')}\n${formatted.output.trim().split('\n').slice(-15).join('\n')}`);
    }

    const jvm = [...(options.heap ?? ['-Xms256m', '-Xmx512m']), `-Dlog4j2.configurationFile=${join(configDir, 'log4j2.properties')}`, `-Dkafka.logs.dir=${dataDir}`, ...common, 'kafka.Kafka', properties];
    const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;

    /** One run of the JVM: its pid and, once it is gone, why. */
    interface Run {
      pid: number;
      exited: string | null;
    }
    const launch = async (phase: 'start-up' | 'resume', append: boolean): Promise<Run> => {
      const out = openSync(logFile, append ? 'a' : 'w');
      const child = options.detached
        ? spawn(java, jvm, { detached: true, stdio: ['ignore', out, out] })
        : spawn('/bin/sh', ['-c', WATCHDOG, 'city-brain-kafka-watchdog', String(process.pid), dataDir, java, ...jvm], { detached: true, stdio: ['ignore', out, out] });
      closeSync(out);
      const state = { exited: null as string | null };
      child.once('exit', (code, signal) => (state.exited = `Kafka exited during ${phase} (${signal ?? `exit ${code}`})`));
      child.once('error', (error) => (state.exited = `Kafka could not start: ${error.message}`));
      const pid = child.pid;
      if (pid === undefined) {
        await new Promise((r) => setImmediate(r));
        throw new Error(state.exited ?? `could not start ${java}`);
      }
      // The broker must not keep this process alive (tests, CLI); stop() ends it explicitly.
      child.unref();
      return {
        pid,
        get exited() {
          return state.exited;
        },
      };
    };
    /** Ends a run (its whole process group) unless it is known to be gone already (its pid may be reused then). */
    const end = async (r: Run, graceMs = 20_000) => {
      if (r.exited === null) await terminate(r.pid, { group: true, graceMs });
      await groupGone(r.pid);
    };

    let reaper: Run | null = null;
    const startReaper = () => {
      if (options.detached) return;
      const child = spawn('/bin/sh', ['-c', REAPER, 'city-brain-kafka-reaper', String(process.pid), dataDir], { detached: true, stdio: 'ignore' });
      const state = { exited: null as string | null };
      child.once('exit', () => (state.exited = 'reaper exited'));
      child.once('error', () => (state.exited = 'reaper could not start'));
      child.unref();
      if (child.pid !== undefined) {
        reaper = {
          pid: child.pid,
          get exited() {
            return state.exited;
          },
        };
      }
    };
    const endReaper = async () => {
      const r = reaper;
      reaper = null;
      if (r) await end(r, 2000);
    };

    const started = Date.now();
    let current: Run | null = await launch('start-up', false);
    let lastPid = current.pid;
    let state: KafkaBrokerState = 'running';
    let stopping = false;

    // halt/resume/stop run one after the other.
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
        cleanup();
      });
      return stopped;
    };

    const halt = (haltOptions: HaltOptions = {}) =>
      serial(async () => {
        if (state !== 'running' || stopping || !current) return;
        const r = current;
        log(`halting Kafka on ${broker} (pid ${r.pid}); data kept in ${dataDir}`);
        await end(r, haltOptions.graceMs ?? 20_000);
        current = null;
        state = 'halted';
        startReaper();
      });

    const resume = () =>
      serial(async () => {
        if (stopping || state === 'stopped') throw new Error(`Kafka on ${broker} was stopped: resume() needs a halted broker`);
        if (state === 'running') return;
        await endReaper();
        const t0 = Date.now();
        let r: Run | null = null;
        try {
          await portsFree([brokerPort, controllerPort], Math.min(readyTimeoutMs, 15_000));
          appendFileSync(logFile, `\n[${new Date().toISOString()}] ---- city-brain: resuming the broker after halt() ----\n`);
          r = await launch('resume', true);
          log(`resuming Kafka on ${broker} (pid ${r.pid}, data ${dataDir})`);
          const run = r;
          await waitForMetadata(broker, readyTimeoutMs, () => (stopping ? 'stop() was called while resuming' : run.exited));
        } catch (error) {
          const message = withLogTail((error as Error).message, logFile);
          if (r) await end(r);
          if (!stopping) startReaper();
          throw new Error(message);
        }
        current = r;
        lastPid = r.pid;
        state = 'running';
        log(`Kafka serves metadata on ${broker} again after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      });

    log(`starting Kafka ${libs.version} on ${broker} (pid ${lastPid}, data ${dataDir}, log ${logFile})`);
    try {
      const first = current;
      await waitForMetadata(broker, readyTimeoutMs, () => first.exited);
    } catch (error) {
      const message = withLogTail((error as Error).message, logFile);
      await stop();
      throw new Error(message);
    }
    const startMs = Date.now() - started;
    log(`Kafka ${libs.version} serves metadata on ${broker} after ${(startMs / 1000).toFixed(1)} s`);
    return {
      brokers: [broker],
      get pid() {
        return lastPid;
      },
      get state() {
        return state;
      },
      dataDir,
      logFile,
      version: libs.version,
      startMs,
      stop,
      halt,
      resume,
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}

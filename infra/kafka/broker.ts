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
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePorts, LOOPBACK, run, serverDirs } from '../process.js';
import { supervise, type ServerState } from '../supervise.js';
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
  /** Further `server.properties` entries, over the defaults (e.g. a retention check every second for a retention test). */
  config?: Record<string, string | number>;
  /** How long to wait for the broker to serve metadata; default 120 s. */
  readyTimeoutMs?: number;
  /** Progress lines (download, start); default silent. */
  log?: (line: string) => void;
}

/** `running` from start and after resume(), `halted` after halt(), `stopped` once stop() was called. */
export type KafkaBrokerState = ServerState;

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

export function serverProperties(o: {
  brokerPort: number;
  controllerPort: number;
  logDir: string;
  numPartitions: number;
  config?: Record<string, string | number>;
}): string {
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
    ...o.config,
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

/** Resolves once a client can read cluster metadata from `broker`; rejects on `abort()` or timeout. */
async function waitForMetadata(broker: string, timeoutMs: number, failed: () => string | null): Promise<void> {
  const kafka = new Kafka({
    clientId: 'city-brain-infra',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const until = Date.now() + timeoutMs;
  let last: string;
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
    if (Date.now() > until)
      throw new Error(`Kafka at ${broker} did not serve metadata within ${Math.round(timeoutMs / 1000)} s (last error: ${last})`);
    await sleep(250);
  }
}

export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const log = options.log ?? (() => {});
  const java = process.env.JAVA ?? 'java';
  await checkJava(java);
  const libs = await kafkaLibs({ log });

  const { dataDir, logFile, cleanup } = serverDirs('kafka', 'broker.log', options);
  const configDir = join(dataDir, 'config');
  const logDir = join(dataDir, 'kraft');
  mkdirSync(configDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });

  try {
    const [brokerPort, controllerPort] = (await freePorts(2)) as [number, number];
    const broker = `${LOOPBACK}:${brokerPort}`;
    const properties = join(configDir, 'server.properties');
    writeFileSync(
      properties,
      serverProperties({ brokerPort, controllerPort, logDir, numPartitions: options.numPartitions ?? 1, config: options.config }),
    );
    writeFileSync(join(configDir, 'log4j2.properties'), LOG4J2('INFO'));
    writeFileSync(join(configDir, 'log4j2-tools.properties'), LOG4J2('WARN'));
    const classpath = `${libs.dir}/*`;
    const common = ['-Djava.awt.headless=true', '-XX:+ExitOnOutOfMemoryError', '-cp', classpath];

    const formatArgs = [
      '-Xms64m',
      '-Xmx256m',
      `-Dlog4j2.configurationFile=${join(configDir, 'log4j2-tools.properties')}`,
      ...common,
      'kafka.tools.StorageTool',
      'format',
      '--cluster-id',
      clusterId(),
      '--config',
      properties,
    ];
    const formatted = await run(java, formatArgs);
    if (formatted.code !== 0) {
      throw new Error(
        `formatting Kafka storage failed (exit ${formatted.code ?? formatted.signal}): ${java} ${formatArgs.join(' ')}\n${formatted.output.trim().split('\n').slice(-15).join('\n')}`,
      );
    }

    const jvm = [
      ...(options.heap ?? ['-Xms256m', '-Xmx512m']),
      `-Dlog4j2.configurationFile=${join(configDir, 'log4j2.properties')}`,
      `-Dkafka.logs.dir=${dataDir}`,
      ...common,
      'kafka.Kafka',
      properties,
    ];
    const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;

    const started = Date.now();
    const server = await supervise({
      name: 'Kafka',
      address: broker,
      command: java,
      args: jvm,
      dataDir,
      logFile,
      ports: [brokerPort, controllerPort],
      detached: options.detached,
      readyTimeoutMs,
      ready: (gone) => waitForMetadata(broker, readyTimeoutMs, gone),
      cleanup,
      log,
    });
    const startMs = Date.now() - started;
    log(`Kafka ${libs.version} serves metadata on ${broker} after ${(startMs / 1000).toFixed(1)} s`);
    return {
      brokers: [broker],
      get pid() {
        return server.pid;
      },
      get state() {
        return server.state;
      },
      dataDir,
      logFile,
      version: libs.version,
      startMs,
      stop: () => server.stop(),
      halt: (haltOptions?: HaltOptions) => server.halt(haltOptions),
      resume: () => server.resume(),
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}

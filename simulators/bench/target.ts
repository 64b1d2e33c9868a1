import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withDefaults } from '../../core/defaults.js';
import { freePort, LOOPBACK } from '../../infra/process.js';
import { counterSum } from './proc.js';

/** The compiled CLI: dist/bin beside dist/simulators, or dist/ of the checkout when this runs from source (vitest). */
const BESIDE = fileURLToPath(new URL('../../bin/city-brain.js', import.meta.url));
const CLI = existsSync(BESIDE) ? BESIDE : fileURLToPath(new URL('../../dist/bin/city-brain.js', import.meta.url));

export interface Stage {
  name: string;
  child: ChildProcess;
  httpPort: number;
  output(): string;
}

/** The pipeline under test: where to publish, where the API is, which processes it is made of. */
export interface Target {
  mqttUrl: string;
  apiUrl: string;
  pids: number[];
  stages: Stage[];
  /** Readings accepted by ingest and processed by the processors so far (from /metrics). */
  counters(): Promise<{ accepted: number; processed: number }>;
  /** The Prometheus text of the stage that aggregates (and so writes the metrics.* topics). */
  aggregatorMetrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface TargetOptions {
  registryFile: string;
  /** Extra environment for every stage (e.g. EVAL_INTERVAL_MS). */
  env?: Record<string, string>;
  /** Directory for `node --cpu-prof` profiles of every stage (written when it exits). */
  cpuProfDir?: string;
  /** Waiting for a stage to serve; a 500k-node registry takes a while to load. */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

/** The targets' defaults. */
export const TARGET_DEFAULTS = {
  readyTimeoutMs: 300_000,
};

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, dead: () => string | null): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const reason = dead();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${what}: not ready within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** Stages still running: killed if the benchmark itself dies, so no pipeline outlives it. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Node's flags for a stage process on Kafka, as the README runs them: Node 24 lets the young
 * generation grow to 128 MB (two semi-spaces of 64 MB), which each stage then keeps in its RSS;
 * 16 MB semi-spaces (Node 20's default) keep it near 40 MB.
 */
export const STAGE_NODE_FLAGS = ['--max-semi-space-size=16'];

async function spawnStage(
  command: string,
  options: TargetOptions,
  env: Record<string, string>,
  ready: string,
  nodeFlags: readonly string[] = [],
): Promise<Stage> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const httpPort = await freePort();
  const args = [
    ...nodeFlags,
    ...(options.cpuProfDir
      ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=${command}-${Date.now()}.cpuprofile`]
      : []),
    CLI,
    command,
  ];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      MQTT_HOST: LOOPBACK,
      HTTP_HOST: LOOPBACK,
      HTTP_PORT: String(httpPort),
      MQTT_AUTH: 'off',
      LOG_LEVEL: 'warn',
      REGISTRY: options.registryFile,
      ...options.env,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `${command} exited (${signal ?? code}): ${out.slice(-2000)}`));
  const stage: Stage = { name: command, child, httpPort, output: () => out };
  options.log?.(`starting ${command} (pid ${child.pid}, http ${httpPort})`);
  await waitUntil(
    `${command}`,
    withDefaults(TARGET_DEFAULTS, options).readyTimeoutMs,
    async () => (await fetch(`http://${LOOPBACK}:${httpPort}${ready}`)).status === 200,
    () => exited,
  );
  return stage;
}

async function stopStage(stage: Stage, log?: (line: string) => void): Promise<void> {
  const { child } = stage;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const t0 = Date.now();
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log?.(`${stage.name} did not stop within 90 s of SIGTERM; killing it. Last output:\n${stage.output().slice(-1500)}`);
    child.kill('SIGKILL');
  }, 90_000);
  await gone;
  clearTimeout(timer);
  log?.(`${stage.name} stopped after ${Date.now() - t0} ms`);
  // Stages log at warn: anything they printed is worth reading next to the figures.
  const printed = stage.output().trim();
  if (printed) log?.(`${stage.name} printed (last 2,000 characters):\n${printed.slice(-2000)}`);
}

async function metricsText(stage: Stage): Promise<string> {
  return (await fetch(`http://${LOOPBACK}:${stage.httpPort}/metrics`)).text();
}

/** `city-brain start`: every stage in one process on the in-process log. */
export async function embeddedTarget(options: TargetOptions): Promise<Target> {
  const mqttPort = await freePort();
  const stage = await spawnStage('start', options, { MQTT_PORT: String(mqttPort) }, '/ready');
  return {
    mqttUrl: `mqtt://${LOOPBACK}:${mqttPort}`,
    apiUrl: `http://${LOOPBACK}:${stage.httpPort}`,
    pids: [stage.child.pid!],
    stages: [stage],
    async counters() {
      const text = await metricsText(stage);
      return {
        accepted: counterSum(text, 'citybrain_readings_accepted_total'),
        processed: counterSum(text, 'citybrain_readings_processed_total'),
      };
    },
    aggregatorMetrics: () => metricsText(stage),
    stop: () => stopStage(stage, options.log),
  };
}

/** The stages as separate processes on Kafka: ingest, `processors` processor instances, api. */
export async function kafkaTarget(options: TargetOptions & { brokers: string[]; processors: number }): Promise<Target> {
  const env = { KAFKA_BROKERS: options.brokers.join(',') };
  const stages: Stage[] = [];
  try {
    const mqttPort = await freePort();
    const ingest = await spawnStage('ingest', options, { ...env, MQTT_PORT: String(mqttPort) }, '/health', STAGE_NODE_FLAGS);
    stages.push(ingest);
    const processors: Stage[] = [];
    for (let i = 0; i < options.processors; i++) {
      const p = await spawnStage('process', options, { ...env, MQTT_PORT: '0' }, '/health', STAGE_NODE_FLAGS);
      stages.push(p);
      processors.push(p);
    }
    const api = await spawnStage('api', options, { ...env, MQTT_PORT: '0' }, '/ready', STAGE_NODE_FLAGS);
    stages.push(api);
    return {
      mqttUrl: `mqtt://${LOOPBACK}:${mqttPort}`,
      apiUrl: `http://${LOOPBACK}:${api.httpPort}`,
      pids: stages.map((s) => s.child.pid!),
      stages,
      async counters() {
        const accepted = counterSum(await metricsText(ingest), 'citybrain_readings_accepted_total');
        let processed = 0;
        for (const p of processors) processed += counterSum(await metricsText(p), 'citybrain_readings_processed_total');
        return { accepted, processed };
      },
      aggregatorMetrics: () => metricsText(api),
      async stop() {
        // Input first, then the processors, then the API.
        for (const s of stages) await stopStage(s, options.log);
      },
    };
  } catch (error) {
    for (const s of stages) await stopStage(s);
    throw error;
  }
}

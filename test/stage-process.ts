import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './helpers.js';
import { freePort } from '../infra/process.js';

const CLI = fileURLToPath(new URL('../dist/bin/city-brain.js', import.meta.url));

export interface StageProcess {
  name: string;
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  output(): string;
  exited: Promise<number | null>;
  metrics(): Promise<string>;
}

/**
 * Starts `city-brain <stage>` as its own process and waits for its /health. `ports`: reuse a dead
 * stage's ports for its restart (devices reconnect to the same address). MQTT auth is off unless
 * `env` says otherwise (these tests publish as anonymous devices).
 */
export async function spawnStage(
  stage: string,
  env: Record<string, string>,
  ports: { httpPort?: number; mqttPort?: number } = {},
): Promise<StageProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does) before this test`);
  const [httpPort, mqttPort] = [ports.httpPort ?? (await freePort()), ports.mqttPort ?? (await freePort())];
  const child = spawn(process.execPath, [CLI, stage], {
    env: {
      ...process.env,
      MQTT_HOST: '127.0.0.1',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      MQTT_PORT: String(mqttPort),
      LOG_LEVEL: process.env.CITY_BRAIN_STAGE_LOG_LEVEL ?? 'warn',
      MQTT_AUTH: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20_000)));
  // Each stage's whole output in a file of its own, to read after a run (a failure prints only its tail).
  const logDir = process.env.CITY_BRAIN_STAGE_LOG_DIR;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    const file = createWriteStream(join(logDir, `${stage}-${child.pid}.log`));
    child.stdout.pipe(file, { end: false });
    child.stderr.pipe(file, { end: false });
    child.once('close', () => file.end());
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(
    async () => {
      if (dead) throw new Error(`${stage} exited: ${out.slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${httpPort}/health`)).status === 200;
    },
    60_000,
    `${stage} /health`,
  );
  return {
    name: stage,
    child,
    httpPort,
    mqttPort,
    output: () => out,
    exited,
    metrics: async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
  };
}

export interface StageSet {
  ingest: StageProcess;
  processors: StageProcess[];
  api: StageProcess;
  all: StageProcess[];
}

/** ingest, `processors` processor instances and the API, each its own process on the same Kafka. */
export async function startStages(env: Record<string, string>, processors = 2): Promise<StageSet> {
  const ingest = await spawnStage('ingest', env);
  const procs: StageProcess[] = [];
  for (let i = 0; i < processors; i++) procs.push(await spawnStage('process', env));
  const api = await spawnStage('api', env);
  return { ingest, processors: procs, api, all: [ingest, ...procs, api] };
}

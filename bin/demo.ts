import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config, NodeRegistry } from '../core/index.js';
import { credentialsToJson, principalsOf, provision, secretsToJson } from '../ingest/auth/index.js';
import { nightStart, startSimulation } from '../simulators/index.js';
import { createLogger, loadRegistry, startPipeline } from './pipeline.js';

/**
 * Demo settings, each overridable from the environment: alerts hold 10 s instead of 60 s so a
 * newcomer sees them within a minute.
 */
export const DEMO_DEFAULTS: Record<string, string> = {
  ALERT_HOLD_S: '10',
  ALERT_RESOLVE_HOLD_S: '10',
  // A small city whose first two hours play at 300x: its metrics topics take every change (the
  // intervals are wall time; the byte budget they keep is for 500,000 nodes).
  METRICS_SUMMARY_INTERVAL_S: '0',
  METRICS_ITEM_INTERVAL_S: '0',
};

/**
 * Simulated minutes the demo plays before it reaches its clock, and how fast: two hours, so that
 * whatever the minute it starts at, the last closed hour has its noise minutes (GB 3096 judges an
 * hour with 75 % of them), wells have a trend and lots their sessions within the first minute.
 */
export const DEMO_BACKFILL = { minutes: 120, speed: 300 };

/**
 * The pipeline plus a simulated city publishing to it over MQTT. The city runs on a night clock
 * (now if it is night in the city, else from last evening) so the lighting KPIs are live whenever
 * the demo is started; the processors follow the data's event time. The first DEMO_BACKFILL.minutes
 * before that clock are played fast (simulated history, labelled so in the log), then the city
 * goes on in real time. `clock`: the wall clock (tests inject a simulated one).
 */
export async function runDemo(config: Config, clock: () => number = Date.now) {
  const logger = createLogger(config);
  const registry = await loadRegistry(config, logger);
  const devices = config.MQTT_AUTH === 'on' ? await provisionDemo(config, registry, logger) : undefined;
  const pipeline = await startPipeline({
    config: devices ? { ...config, MQTT_CREDENTIALS: devices.file } : config,
    registry,
    logger,
    clock,
    nextStep: 'the simulated city starts publishing now',
  });
  const host = config.MQTT_HOST === '0.0.0.0' ? '127.0.0.1' : config.MQTT_HOST;
  const now = clock();
  const live = nightStart(now);
  const start = live - DEMO_BACKFILL.minutes * 60_000;
  const simulation = await startSimulation({
    url: `mqtt://${host}:${pipeline.mqttPort}`,
    registry: pipeline.registry,
    scenario: 'demo',
    seed: 1,
    start,
    speed: DEMO_BACKFILL.speed,
    // Never ahead of the night clock: once the history is played, one simulated second per second
    // (the simulator's cap is against the real wall clock, which it runs on).
    maxAheadS: (live - Date.now()) / 1000,
    logger: pipeline.logger.child({ stage: 'simulator' }),
    ...(devices ? { credentials: devices.secrets } : {}),
  });
  const api = `http://localhost:${pipeline.httpPort}`;
  pipeline.logger.info(
    {
      simulatedHistory: { from: new Date(start).toISOString(), to: new Date(live).toISOString(), speed: DEMO_BACKFILL.speed },
      console: `${api}/`,
      kpis: `${api}/api/v1/kpis`,
      alerts: `${api}/api/v1/alerts`,
      docs: `${api}/docs`,
    },
    `demo city publishing: ${DEMO_BACKFILL.minutes} simulated minutes of history first (${Math.round((DEMO_BACKFILL.minutes * 60) / DEMO_BACKFILL.speed)} s), then in real time; open ${api}/`,
  );
  const timer = setInterval(() => pipeline.logger.info({ simulator: simulation.stats() }, 'demo progress'), 30_000);
  timer.unref();
  return {
    pipeline,
    simulation,
    async close() {
      clearInterval(timer);
      await simulation.stop();
      await pipeline.close();
      if (devices) await rm(devices.dir, { recursive: true, force: true });
    },
  };
}

/**
 * MQTT_AUTH=on (the default): the demo provisions its simulated gateways and directly connected
 * nodes like `city-brain credentials` would, in a private temporary directory removed on close,
 * and the simulator logs each of them in as itself. The secrets file is left there for trying a
 * client by hand while the demo runs.
 */
async function provisionDemo(config: Config, registry: NodeRegistry, logger: Logger) {
  if (config.MQTT_CREDENTIALS)
    logger.warn({ file: config.MQTT_CREDENTIALS }, 'the demo provisions its own simulated devices; MQTT_CREDENTIALS is not used');
  // Throwaway secrets of one run: the cheapest scrypt cost keeps start-up and the 108 logins quick on a busy laptop.
  const { entries, secrets } = await provision(principalsOf(registry), { N: 1024, r: 8, p: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'city-brain-demo-'));
  const file = join(dir, 'credentials.json');
  await writeFile(file, credentialsToJson(entries), { mode: 0o600 });
  await writeFile(join(dir, 'device-secrets.json'), secretsToJson(secrets.map((s) => ({ ...s, username: s.id }))), { mode: 0o600 });
  logger.info(
    { devices: entries.length, credentials: file, secrets: join(dir, 'device-secrets.json') },
    'demo devices provisioned (MQTT_AUTH=on)',
  );
  return { dir, file, secrets: new Map(secrets.map((s) => [s.id, s.password])) };
}

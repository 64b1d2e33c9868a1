import type { Config } from '../core/index.js';
import { nightStart, startSimulation } from '../simulators/index.js';
import { startPipeline } from './pipeline.js';

/**
 * Demo settings, each overridable from the environment: alerts hold 10 s instead of 60 s so a
 * newcomer sees them within a minute.
 */
export const DEMO_DEFAULTS: Record<string, string> = {
  ALERT_HOLD_S: '10',
  ALERT_RESOLVE_HOLD_S: '10',
};

/**
 * The pipeline plus a simulated city publishing to it over MQTT. The city runs on a night clock
 * (now if it is night in the city, else from last evening) so the lighting KPIs are live whenever
 * the demo is started; the processors follow the data's event time.
 */
export async function runDemo(config: Config) {
  const pipeline = await startPipeline({ config });
  const host = config.MQTT_HOST === '0.0.0.0' ? '127.0.0.1' : config.MQTT_HOST;
  const start = nightStart(Date.now());
  const simulation = await startSimulation({
    url: `mqtt://${host}:${pipeline.mqttPort}`,
    registry: pipeline.registry,
    scenario: 'demo',
    seed: 1,
    start,
    logger: pipeline.logger.child({ stage: 'simulator' }),
  });
  const api = `http://localhost:${pipeline.httpPort}`;
  pipeline.logger.info(
    { simulatedStart: new Date(start).toISOString(), kpis: `${api}/api/v1/kpis`, alerts: `${api}/api/v1/alerts`, docs: `${api}/docs` },
    'demo city publishing; KPIs within seconds, first alerts within a minute',
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
    },
  };
}

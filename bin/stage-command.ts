import type { Config } from '../core/index.js';
import { stageContext } from './pipeline.js';
import { startApi, startIngest, startOps, startProcess, startSinks, type Stage } from './stages.js';
import { StageError } from '../core/errors.js';
import { capHeapGrowing } from './heap-growing.js';

export const STAGES = ['ingest', 'process', 'api', 'sink'] as const;
export type StageName = (typeof STAGES)[number];

/**
 * One stage as its own process against Kafka: `ingest` (MQTT broker -> log), `process` (a member
 * of the processor group; run several), `api` (HTTP API with the aggregator), `sink` (log ->
 * InfluxDB, Alertmanager and Grafana annotations). Each serves
 * /health, /ready and /metrics on HTTP_PORT.
 */
export async function runStage(name: StageName, config: Config): Promise<Stage> {
  if (!config.KAFKA_BROKERS)
    throw new StageError(
      `${name}: the stages run as separate processes only on Kafka; set KAFKA_BROKERS (or use \`start\` for everything in one process)`,
    );
  if (name === 'sink' && !config.INFLUX_URL && !config.ALERTMANAGER_URL && !config.GRAFANA_URL) {
    throw new StageError('sink: set INFLUX_URL (with INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET), ALERTMANAGER_URL and/or GRAFANA_URL');
  }
  capHeapGrowing(config.STAGE_HEAP_GROWING_PERCENT);
  const ctx = await stageContext({ config });
  const parts: Stage[] = [];
  let ports: Record<string, number>;
  if (name === 'ingest') {
    const ingest = await startIngest(ctx);
    parts.push(ingest, await startOps(ctx, () => true).then((ops) => ((ports = { mqttPort: ingest.port, httpPort: ops.port }), ops)));
  } else if (name === 'process') {
    const proc = await startProcess(ctx);
    parts.push(proc, await startOps(ctx, () => proc.host.ready()).then((ops) => ((ports = { httpPort: ops.port }), ops)));
  } else if (name === 'sink') {
    const sinks = await startSinks(ctx);
    parts.push(sinks, await startOps(ctx, () => true).then((ops) => ((ports = { httpPort: ops.port }), ops)));
  } else {
    const api = await startApi(ctx);
    ports = { httpPort: api.port };
    parts.push(api);
  }
  ctx.logger.info({ stage: name, ...ports!, brokers: config.KAFKA_BROKERS, kafkaClient: config.KAFKA_CLIENT }, 'stage running');
  return {
    async close() {
      for (const part of parts) await part.close();
      await ctx.registryFeed.stop();
      await ctx.transport.close();
      ctx.logger.info({ stage: name }, 'stage stopped');
    },
  };
}

export { StageError };

import { pino, type Logger } from 'pino';
import {
  generateCity,
  loadRegistryFile,
  NodeRegistry,
  PipelineMetrics,
  RegistryFeed,
  seedChanges,
  withDefaults,
  type Config,
  type StreamTransport,
} from '../core/index.js';
import type { Aggregation } from '../processors/view.js';
import type { ProcessorHost } from '../processors/host.js';
import { createTransport, prepareLog, startApi, startIngest, startProcess, startSinks, type StageContext } from './stages.js';
import { loadKinds } from '../core/kinds/modules.js';
import { logProcessWarnings } from './process-warnings.js';

export interface PipelineOptions {
  config: Config;
  logger?: Logger;
  registry?: NodeRegistry;
  transport?: StreamTransport;
  /** Collect Node's default process metrics (off in tests that start several pipelines). */
  defaultMetrics?: boolean;
  /** Wall clock of ingest, the processors and the aggregator (default Date.now); tests inject a simulated one. Sinks keep the real clock: the services they talk to do. */
  clock?: () => number;
  /** What the start banner suggests next (default: the demo); the demo says what it does itself. */
  nextStep?: string;
}

/**
 * The pipeline's defaults. logger, registry and transport are made from the config when absent
 * (see stageContext); defaultMetrics is PipelineMetrics' (on).
 */
export const PIPELINE_DEFAULTS = {
  clock: Date.now,
  nextStep: 'to see a simulated city instead: npm run demo',
};

export interface RunningPipeline {
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly registry: NodeRegistry;
  /** How this process changes the registry (the API's registry routes use it). */
  readonly registryFeed: RegistryFeed;
  readonly host: ProcessorHost;
  readonly aggregator: Aggregation;
  readonly metrics: PipelineMetrics;
  readonly logger: Logger;
  close(): Promise<void>;
}

/** JSON lines for collectors; on a terminal (or LOG_FORMAT=pretty) readable lines through pino-pretty. Node's process warnings go to it too. */
export function createLogger(config: Config): Logger {
  const logger = processLogger(config);
  logProcessWarnings(logger);
  return logger;
}

function processLogger(config: Config): Logger {
  const pretty = config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && process.stdout.isTTY === true);
  if (!pretty) return pino({ level: config.LOG_LEVEL, base: { service: 'city-brain' } });
  return pino({
    level: config.LOG_LEVEL,
    base: { service: 'city-brain' },
    transport: {
      target: 'pino-pretty',
      options: { colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' },
    },
  });
}

/** The kinds (built-in, shipped profiles, KIND_PROFILES) and the registry of their nodes; a bad profile throws ProfileError. */
export async function loadRegistry(
  config: Config,
  logger: Logger,
  kinds = loadKinds(config.KIND_PROFILES ? [config.KIND_PROFILES] : []),
): Promise<NodeRegistry> {
  const profiles = kinds.profiles().map((p) => p.kind);
  if (!config.REGISTRY) {
    const registry = generateCity(kinds);
    logger.info({ nodes: registry.size, profileKinds: profiles }, 'no REGISTRY set: using the generated default city');
    return registry;
  }
  const registry = await loadRegistryFile(config.REGISTRY, kinds);
  logger.info({ nodes: registry.size, file: config.REGISTRY, profileKinds: profiles }, 'registry loaded');
  return registry;
}

/** Settings that leave the pipeline open are named at start, so nobody believes it is locked down. */
function warnOpenSettings(config: Config, logger: Logger): void {
  if (!config.API_TOKENS)
    logger.warn(
      'API_TOKENS is not set: anyone who can reach the HTTP API may read it; acknowledging and admin only from this host (loopback)',
    );
}

/**
 * The registry, log, producer and metrics every stage of one process shares. The registry is the
 * `registry` topic's (rebuilt from it, then kept current by the feed); `options.registry`, else
 * REGISTRY or the generated city, only seeds an empty topic (the first start).
 */
export async function stageContext(options: PipelineOptions): Promise<StageContext> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config);
  warnOpenSettings(config, logger);
  const kinds = options.registry?.kinds ?? loadKinds(config.KIND_PROFILES ? [config.KIND_PROFILES] : []);
  const registry = options.registry ?? new NodeRegistry([], [], kinds);
  const clock = withDefaults(PIPELINE_DEFAULTS, options).clock;
  // A registry handed in is also the one the feed rebuilds, clearing it first: its contents are taken now.
  const seed = options.registry && seedChanges(options.registry, clock());
  const metrics = new PipelineMetrics({ defaultMetrics: options.defaultMetrics });
  const transport = options.transport ?? createTransport(config, logger, metrics);
  await prepareLog(transport, kinds);
  const producer = await transport.producer();
  const registryFeed = new RegistryFeed({
    registry,
    transport,
    producer,
    logger: logger.child({ stage: 'registry' }),
    seed: () => seed ?? loadRegistry(config, logger, kinds),
    stateDir: config.STATE_DIR,
    clock,
  });
  await registryFeed.start();
  // What each stage process holds: after a restart it must equal the others'.
  const countNodes = () => {
    for (const kind of kinds.names()) metrics.registryNodes.set({ kind }, registry.count(kind));
  };
  countNodes();
  registry.onChange(countNodes);
  return { config, registry, registryFeed, transport, producer, metrics, logger, clock };
}

/**
 * Every stage in one process (MQTT broker and bridge, processors, aggregator, API, and the
 * configured sinks: InfluxDB, Alertmanager) on the
 * in-process log, or on Kafka when KAFKA_BROKERS is set. Close order drains: stop taking MQTT
 * input first, then finish processing, then stop serving.
 */
export async function startPipeline(options: PipelineOptions): Promise<RunningPipeline> {
  const ctx = await stageContext(options);
  const process = await startProcess(ctx);
  const api = await startApi(ctx, process.host);
  const sinks = await startSinks(ctx);
  const ingest = await startIngest(ctx);
  // Where to go next, in the first lines a newcomer reads.
  const host = (h: string) => (h === '0.0.0.0' || h === '::' ? 'localhost' : h);
  const http = `http://${host(ctx.config.HTTP_HOST)}:${api.port}`;
  ctx.logger.info(
    {
      mqtt: `mqtt://${host(ctx.config.MQTT_HOST)}:${ingest.port}`,
      kpis: `${http}/api/v1/kpis`,
      docs: `${http}/docs`,
      nodes: ctx.registry.size,
      transport: ctx.transport.name,
      sinks: sinks.names,
    },
    `pipeline running: KPIs at ${http}/api/v1/kpis, API docs at ${http}/docs; devices log in over MQTT on port ${ingest.port}` +
      (ctx.config.MQTT_AUTH === 'on' && !ctx.config.MQTT_CREDENTIALS ? ' once provisioned (city-brain credentials --help)' : '') +
      `; ${withDefaults(PIPELINE_DEFAULTS, options).nextStep}`,
  );

  let closing: Promise<void> | null = null;
  return {
    mqttPort: ingest.port,
    httpPort: api.port,
    registry: ctx.registry,
    registryFeed: ctx.registryFeed,
    host: process.host,
    aggregator: api.aggregator,
    metrics: ctx.metrics,
    logger: ctx.logger,
    close() {
      closing ??= (async () => {
        await ingest.close();
        await process.close();
        await api.close();
        await sinks.close();
        await ctx.registryFeed.stop();
        await ctx.transport.close();
        ctx.logger.info('pipeline stopped');
      })();
      return closing;
    },
  };
}

#!/usr/bin/env node
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { citySizeFor, generateCity, isOneLineError, loadConfig, registryToFile, UsageError, type Config } from '../core/index.js';
import { startPipeline } from './pipeline.js';
import { runStage } from './stage-command.js';
import { capHeapGrowing } from './heap-growing.js';
import { nodeTooOld } from './node-version.js';
import { defaultKinds, loadKinds } from '../core/kinds/modules.js';

const USAGE = `usage: city-brain <command> [options]

commands:
  start                 run the whole pipeline in one process (embedded default; on Kafka with KAFKA_BROKERS)
  ingest | process | api | sink
                        run one stage as its own process against KAFKA_BROKERS (run several \`process\`)
  demo                  the pipeline plus a simulated city publishing to it
  simulate [flags]      publish a simulated city to an MQTT broker (--url, --nodes, --rate, --speed, --scenario)
  registry --out FILE   write the generated default city registry (--nodes N for a city of about N nodes)
  credentials --out FILE [--secrets FILE] [--registry FILE] [--all-nodes]
                        provision MQTT credentials (MQTT_CREDENTIALS) for every gateway and every node
                        without one (--all-nodes: every node too); existing entries are kept; the new
                        secrets are written once to --secrets (default: FILE with .secrets.json)

configuration comes from the environment; see README.md.
\`city-brain <command> --help\` describes one command.`;

const SETTINGS = `configuration comes from the environment (README.md, "Configuration"): MQTT_PORT (1883), HTTP_PORT (8080),
REGISTRY, KIND_PROFILES, MQTT_AUTH, MQTT_CREDENTIALS, API_TOKENS, KAFKA_BROKERS, INFLUX_*, ALERTMANAGER_URL, STATE_DIR, LOG_STORE, LOG_FSYNC, LOG_LEVEL, ...`;
const STAGE_HELP = (stage: string, what: string) => `usage: city-brain ${stage}

${what}
Needs KAFKA_BROKERS (bootstrap servers); serves /health, /ready and /metrics on HTTP_PORT. Stops on SIGINT/SIGTERM.
${SETTINGS}`;

/** \`city-brain <command> --help\`: what one command does, its flags and the settings it reads. */
const HELP: Record<string, string> = {
  start: `usage: city-brain start

Runs the whole pipeline in one process: the MQTT broker (MQTT_PORT), the log in files under STATE_DIR
(LOG_STORE=memory: in process; Kafka when KAFKA_BROKERS is set), the processors, the HTTP API (HTTP_PORT; /docs for the OpenAPI document) and the
sinks that are configured. MQTT authentication is on: provision devices first (city-brain credentials).
Stops on SIGINT/SIGTERM after draining.
${SETTINGS}`,
  demo: `usage: city-brain demo

The pipeline plus a simulated city publishing to it (scenario demo: a dark circuit, wells under and
falling towards their lines, a full lot, a noisy station, some bad data), with throwaway device
credentials. Its log and state snapshots go to a temporary directory, logged at start and removed at the end,
unless STATE_DIR is set. Stops on SIGINT/SIGTERM.
${SETTINGS}`,
  ingest: STAGE_HELP(
    'ingest',
    'The MQTT broker and bridge as their own process: validated readings to telemetry.raw, rejected ones to telemetry.dlq.',
  ),
  process: STAGE_HELP(
    'process',
    'One member of the processor group (start as many as you like): it owns a share of telemetry.raw and publishes partials.',
  ),
  api: STAGE_HELP('api', 'The HTTP API with the aggregation (KPIs and the alert lifecycle), one instance.'),
  sink: STAGE_HELP('sink', 'The configured sinks (INFLUX_*, ALERTMANAGER_URL, GRAFANA_URL) as their own process.'),
  registry: `usage: city-brain registry --out FILE [--nodes N]

Writes the generated default city registry to FILE, as JSON or CSV by its extension (.json, .csv);
REGISTRY=FILE then loads it. --nodes N: a city of about N nodes (>= 100) instead of the default 3,931.`,
  credentials: `usage: city-brain credentials --out FILE [--secrets FILE] [--registry FILE] [--all-nodes]

Provisions MQTT credentials (the MQTT_CREDENTIALS file) for every gateway of the registry (--registry,
else REGISTRY, else the generated city) and every node without one (--all-nodes: every node too).
Existing entries are kept. The secrets of new entries are written once, mode 0600, to --secrets
(default: FILE with .secrets.json): give each device its own, then delete the file.`,
};

/**
 * Runs until SIGINT/SIGTERM, then drains and closes. Listening starts before start-up does, so a
 * signal that arrives while the pipeline is still starting stops it (and cleans up) once it has
 * started, instead of killing it half-way.
 */
function closeOnSignal(): (close: () => Promise<void>) => void {
  let close: (() => Promise<void>) | undefined;
  let signalled: string | undefined;
  const stop = () => {
    process.stderr.write(`${signalled}: stopping\n`);
    close!().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  const on = (signal: string) => {
    if (signalled) return;
    signalled = signal;
    if (close) stop();
  };
  process.on('SIGINT', () => on('SIGINT'));
  process.on('SIGTERM', () => on('SIGTERM'));
  return (closer) => {
    close = closer;
    if (signalled) stop();
  };
}

/** The configuration of the running command, to name the setting behind a port already in use. */
let running: Config | undefined;

function load(env: NodeJS.ProcessEnv = process.env): Config {
  return (running = loadConfig(env));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command && HELP[command] && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`${HELP[command]}\n`);
    return;
  }
  const tooOld = nodeTooOld(process.versions.node);
  if (tooOld) {
    process.stderr.write(`city-brain: ${tooOld}\n`);
    process.exit(2);
  }
  switch (command) {
    case 'start': {
      const closeWith = closeOnSignal();
      const config = load();
      // Every stage in one process: the heap is theirs together (at the city's own rate for ten minutes it grew to 2.73 GiB uncapped).
      capHeapGrowing(config.STAGE_HEAP_GROWING_PERCENT);
      const pipeline = await startPipeline({ config });
      closeWith(() => pipeline.close());
      return;
    }
    case 'demo': {
      const closeWith = closeOnSignal();
      const { runDemo, DEMO_DEFAULTS } = await import('./demo.js');
      // A simulated night is not the city's state: unless STATE_DIR is given, the demo keeps its
      // snapshots apart (logged, removed at the end), so a later \`start\` does not restore the demo's lamps and alerts.
      const stateDir = process.env.STATE_DIR ? undefined : await mkdtemp(join(tmpdir(), 'city-brain-demo-'));
      if (stateDir)
        process.stderr.write(`demo: state snapshots in ${stateDir} (removed when the demo stops; set STATE_DIR to keep them)\n`);
      const removeStateDir = async () => {
        if (stateDir) await rm(stateDir, { recursive: true, force: true });
      };
      try {
        const config = load({ ...DEMO_DEFAULTS, ...(stateDir ? { STATE_DIR: stateDir } : {}), ...process.env });
        capHeapGrowing(config.STAGE_HEAP_GROWING_PERCENT); // the whole pipeline in one process, as \`start\`
        const demo = await runDemo(config);
        closeWith(async () => {
          await demo.close();
          await removeStateDir();
        });
      } catch (error) {
        await removeStateDir();
        throw error;
      }
      return;
    }
    case 'ingest':
    case 'process':
    case 'api':
    case 'sink': {
      const closeWith = closeOnSignal();
      const stage = await runStage(command, load());
      closeWith(() => stage.close());
      return;
    }
    case 'simulate': {
      const { runSimulate } = await import('../simulators/cli.js');
      await runSimulate(rest);
      return;
    }
    case 'registry': {
      const { values } = parseArgs({ args: rest, options: { out: { type: 'string' }, nodes: { type: 'string' } } });
      if (!values.out) throw new UsageError('registry: --out FILE is required');
      const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
      if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 100))
        throw new UsageError('registry: --nodes must be an integer >= 100');
      const registry = generateCity(defaultKinds(), nodes === undefined ? {} : citySizeFor(nodes));
      await writeFile(values.out, registryToFile(registry, values.out));
      process.stdout.write(`wrote ${registry.size} nodes to ${values.out}; start with REGISTRY=${values.out}\n`);
      return;
    }
    case 'credentials': {
      const { values } = parseArgs({
        args: rest,
        options: { out: { type: 'string' }, secrets: { type: 'string' }, registry: { type: 'string' }, 'all-nodes': { type: 'boolean' } },
      });
      if (!values.out) throw new UsageError('credentials: --out FILE is required');
      const { loadRegistryFile } = await import('../core/index.js');
      const { provisionFile } = await import('../ingest/auth/index.js');
      const registryFile = values.registry ?? process.env.REGISTRY;
      const kinds = loadKinds(process.env.KIND_PROFILES ? [process.env.KIND_PROFILES] : []);
      const registry = registryFile ? await loadRegistryFile(registryFile, kinds) : generateCity(kinds);
      const secrets = values.secrets ?? `${values.out.replace(/\.json$/, '')}.secrets.json`;
      const result = await provisionFile({ registry, out: values.out, secrets, allNodes: values['all-nodes'] ?? false });
      process.stdout.write(
        `${values.out}: ${result.total} entries (${result.gateways} gateways, ${result.devices} devices), ${result.added} new\n`,
      );
      if (result.added > 0)
        process.stdout.write(
          `secrets of the ${result.added} new entries written once to ${secrets} (mode 0600): give each device its own, then delete the file\n`,
        );
      return;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** `listen EADDRINUSE` names no setting: say which one holds the port and what to do. */
function portInUse(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code !== 'EADDRINUSE') return undefined;
  const settings = running ? (['MQTT_PORT', 'HTTP_PORT', 'MQTT_TLS_PORT'] as const).filter((name) => running![name] === e.port) : [];
  const setting = settings.length > 0 ? settings.join(' / ') : 'MQTT_PORT or HTTP_PORT';
  return `port ${e.port ?? '?'}${e.address ? ` on ${e.address}` : ''} is already in use (${setting}): stop what holds it, or set ${setting} to a free port`;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const inUse = portInUse(error);
  if (inUse) {
    process.stderr.write(`city-brain: ${inUse}\n`);
    process.exit(2);
  }
  if (isOneLineError(error)) {
    process.stderr.write(`city-brain: ${error.message}\n`);
    if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`city-brain: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

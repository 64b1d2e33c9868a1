#!/usr/bin/env node
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { citySizeFor, ConfigError, generateCity, loadConfig, registryToJson, RegistryError } from '../core/index.js';
import { startPipeline } from './pipeline.js';
import { runStage, StageError } from './stage-command.js';

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

configuration comes from the environment; see README.md.`;

/** Runs until SIGINT/SIGTERM, then drains and closes. */
function closeOnSignal(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping\n`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const pipeline = await startPipeline({ config: loadConfig() });
      closeOnSignal(() => pipeline.close());
      return;
    }
    case 'demo': {
      const { runDemo, DEMO_DEFAULTS } = await import('./demo.js');
      // A simulated night is not the city's state: unless STATE_DIR is given, the demo keeps its
      // snapshots apart, so a later `start` does not restore the demo's lamps and alerts.
      const stateDir = await mkdtemp(join(tmpdir(), 'city-brain-demo-'));
      const demo = await runDemo(loadConfig({ ...DEMO_DEFAULTS, STATE_DIR: stateDir, ...process.env }));
      closeOnSignal(() => demo.close());
      return;
    }
    case 'ingest':
    case 'process':
    case 'api':
    case 'sink': {
      const stage = await runStage(command, loadConfig());
      closeOnSignal(() => stage.close());
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
      if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 100)) throw new UsageError('registry: --nodes must be an integer >= 100');
      const registry = generateCity(nodes === undefined ? {} : citySizeFor(nodes));
      await writeFile(values.out, registryToJson(registry));
      process.stdout.write(`wrote ${registry.size} nodes to ${values.out}\n`);
      return;
    }
    case 'credentials': {
      const { values } = parseArgs({ args: rest, options: { out: { type: 'string' }, secrets: { type: 'string' }, registry: { type: 'string' }, 'all-nodes': { type: 'boolean' } } });
      if (!values.out) throw new UsageError('credentials: --out FILE is required');
      const { loadRegistryFile } = await import('../core/index.js');
      const { provisionFile } = await import('../ingest/auth/index.js');
      const registryFile = values.registry ?? process.env.REGISTRY;
      const registry = registryFile ? await loadRegistryFile(registryFile) : generateCity();
      const secrets = values.secrets ?? `${values.out.replace(/\.json$/, '')}.secrets.json`;
      const result = await provisionFile({ registry, out: values.out, secrets, allNodes: values['all-nodes'] ?? false });
      process.stdout.write(`${values.out}: ${result.total} entries (${result.gateways} gateways, ${result.devices} devices), ${result.added} new\n`);
      if (result.added > 0) process.stdout.write(`secrets of the ${result.added} new entries written once to ${secrets} (mode 0600): give each device its own, then delete the file\n`);
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

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof RegistryError || error instanceof UsageError || error instanceof StageError || (error as Error | undefined)?.name === 'CredentialsError') {
    process.stderr.write(`city-brain: ${(error as Error).message}\n`);
    if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`city-brain: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});


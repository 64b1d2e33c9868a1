#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
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
      const demo = await runDemo(loadConfig({ ...DEMO_DEFAULTS, ...process.env }));
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
  if (error instanceof ConfigError || error instanceof RegistryError || error instanceof UsageError || error instanceof StageError) {
    process.stderr.write(`city-brain: ${error.message}\n`);
    if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`city-brain: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});


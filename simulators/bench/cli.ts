#!/usr/bin/env node
/** `npm run bench`: see ./options.ts for the flags and ./run.ts for what is measured. */
import { BENCH_USAGE, BenchUsageError, parseBenchArgs } from './options.js';
import { runBench, writeReport } from './run.js';

async function main(): Promise<void> {
  let options;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n${BENCH_USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return;
  }
  const report = await runBench(options);
  writeReport(options.out, report);
  const r = report as Record<string, unknown>;
  process.stderr.write(`bench: report written to ${options.out}\n`);
  process.stdout.write(
    `${JSON.stringify({ nodes: r.nodes, readingsPerSecond: r.readingsPerSecond, p50LatencyMs: r.p50LatencyMs, p99LatencyMs: r.p99LatencyMs, rssMaxBytes: r.rssMaxBytes, cpuSeconds: r.cpuSeconds, lost: r.lost })}\n`,
  );
  // One line per Kafka client measured (--kafka-clients): its run's figures, without their steps, then the medians.
  for (const { steps: _steps, ...run } of (r.kafkaClients ?? []) as Record<string, unknown>[])
    process.stdout.write(`${JSON.stringify(run)}\n`);
  for (const client of (r.kafkaClientSummary ?? []) as unknown[]) process.stdout.write(`${JSON.stringify(client)}\n`);
  process.exit(0);
}

// Stopped by a signal: exit, which kills the pipeline and the simulator it started ('exit' handlers
// in ./target.ts and ./load.ts), rather than leave them running on the machine's two cores.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}: stopping the processes it started\n`);
    process.exit(code);
  });

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

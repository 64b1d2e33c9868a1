import { parseArgs } from 'node:util';
import { z } from 'zod';
import { BenchUsageError } from '../../core/errors.js';
import { KAFKA_CLIENTS } from '../../core/stream/kafka-shared.js';

export const BENCH_USAGE = `usage: npm run bench -- [flags]

  --nodes N            registered nodes of the generated city (default 500000)
  --kafka              the stages as separate processes on a real Kafka broker (KAFKA_BROKERS, else a local one)
  --processors N       with --kafka: processor instances (default 1)
  --logs LIST          embedded: the log(s) to run the pipeline on, one after the other in this run: file | memory |
                       file,memory (default file, the embedded default); with both the report gives the cost of durability.
                       Name one again to measure it again: file,memory,memory,file (medians per log)
  --kafka-clients LIST with --kafka: the Kafka client libraries to measure, one after the other in this run,
                       each on an emptied log (kafkajs, platformatic; default: the KAFKA_CLIENT default).
                       Name one again to measure it again: kafkajs,platformatic,platformatic,kafkajs lets
                       the machine's load drifting over the run weigh alike on both (medians per client)
  --rates R1,R2,...    readings per second of each step; steps go up until the pipeline no longer keeps up
                       (default 5000,10000,20000,30000,40000,50000,60000,80000,100000)
  --baseline-rates R1,...  the steps of the Mosquitto baseline (default: the default --rates)
  --step-seconds S     measured seconds per step (default 10), after --warm-seconds (default 3) at the new rate
  --baselines LIST     mosquitto,kafka | mosquitto | kafka | none (default mosquitto,kafka)
  --kafka-records N    records for Kafka's ProducerPerformance (default 1000000)
  --probes N           latency probes (default 16)
  --connections N      simulator MQTT connections (default 16; each waits for its PUBACKs in order)
  --seed S             simulator seed (default 1)
  --start first|restart
                       first: measure the pipeline's first start on an empty STATE_DIR (and an empty Kafka);
                       restart: start it once, stop it, and measure it started again on the same state, as it
                       runs after its first day (the first start's seeding of the registry topic is not in
                       the figures). Default first
  --cpu-prof DIR       write a V8 CPU profile of every pipeline process to DIR (node --cpu-prof)
  --out FILE           the JSON report (default bench-report.json)
  --help`;

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be an integer')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be from ${min} to ${max}`);
const seconds = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a number of seconds')
  .transform(Number)
  .refine((n) => n > 0, 'must be > 0');

const schema = z.object({
  nodes: int(100, 5_000_000).default(500_000),
  kafka: z.boolean().default(false),
  processors: int(1, 16).default(1),
  logs: z
    .string()
    .default('file')
    .transform(list)
    .pipe(z.array(z.enum(['file', 'memory'], { error: 'logs are file, memory or file,memory' })).min(1, 'name at least one log')),
  'kafka-clients': z
    .string()
    .default(KAFKA_CLIENTS[0])
    .transform(list)
    .pipe(z.array(z.enum(KAFKA_CLIENTS, { error: `Kafka clients are ${KAFKA_CLIENTS.join(', ')}` })).min(1, 'name at least one client')),
  rates: z
    .string()
    .default('5000,10000,20000,30000,40000,50000,60000,80000,100000')
    .transform(list)
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^\d+$/, 'rates must be integers')
            .transform(Number)
            .refine((n) => n > 0, 'rates must be > 0'),
        )
        .min(1, 'name at least one rate'),
    )
    .transform((r) => [...r].sort((a, b) => a - b)),
  'baseline-rates': z
    .string()
    .default('5000,10000,20000,30000,40000,50000,60000,80000,100000')
    .transform(list)
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^\d+$/, 'rates must be integers')
            .transform(Number)
            .refine((n) => n > 0, 'rates must be > 0'),
        )
        .min(1, 'name at least one rate'),
    )
    .transform((r) => [...r].sort((a, b) => a - b)),
  'step-seconds': seconds.default(10),
  'warm-seconds': seconds.default(3),
  baselines: z
    .string()
    .default('mosquitto,kafka')
    .transform((s) => (s === 'none' ? [] : list(s)))
    .pipe(z.array(z.enum(['mosquitto', 'kafka'], { error: 'baselines are mosquitto, kafka or none' }))),
  'kafka-records': int(1000, 100_000_000).default(1_000_000),
  probes: int(1, 99).default(16),
  connections: int(1, 256).default(16),
  seed: int(0, 2 ** 31).default(1),
  start: z.enum(['first', 'restart'], { error: 'start is first or restart' }).default('first'),
  'cpu-prof': z.string().min(1).optional(),
  out: z.string().min(1).default('bench-report.json'),
});

export type BenchOptions = z.output<typeof schema>;

export { BenchUsageError };

export function parseBenchArgs(argv: string[]): BenchOptions & { help: boolean } {
  const strings = [
    'nodes',
    'processors',
    'logs',
    'kafka-clients',
    'rates',
    'baseline-rates',
    'step-seconds',
    'warm-seconds',
    'baselines',
    'kafka-records',
    'probes',
    'connections',
    'seed',
    'start',
    'cpu-prof',
    'out',
  ] as const;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(strings.map((s) => [s, { type: 'string' as const }])),
        kafka: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new BenchUsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const r = schema.safeParse(Object.fromEntries(Object.entries(values).filter(([k, v]) => k !== 'help' && v !== undefined)));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new BenchUsageError(`--${String(issue.path[0] ?? '')}: ${issue.message}`);
  }
  // Naming clients means measuring on Kafka.
  return { ...r.data, kafka: r.data.kafka || values['kafka-clients'] !== undefined, help: values.help === true };
}

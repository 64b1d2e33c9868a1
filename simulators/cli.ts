import { parseArgs } from 'node:util';
import { z } from 'zod';
import { citySizeFor, generateCity, loadRegistryFile, type NodeRegistry } from '../core/index.js';
import { loadDeviceSecrets } from '../ingest/auth/index.js';
import type { SimLogger, SimulationStats } from './engine.js';
import { nightStart, startSimulation, type SimulationOptions } from './publisher.js';
import { parseScenario, scenarioDescriptions } from './scenarios.js';
import { SimulateUsageError } from '../core/errors.js';
import { defaultKinds, loadKinds } from '../core/kinds/modules.js';

/** The scenarios with the built-in kinds and the shipped profiles (a registry's KIND_PROFILES may add more). */
const SCENARIOS = scenarioDescriptions(defaultKinds());

export const SIMULATE_USAGE = `usage: city-brain simulate [flags]

  --url URL            broker, mqtt://HOST:PORT (default mqtt://127.0.0.1:1883)
  --nodes N            simulate a generated city of about N nodes (with --registry: at most N of its nodes)
  --registry FILE      node registry (.json or .csv) instead of a generated city
  --rate R             readings per second at most (default: unlimited)
  --speed X            simulated time runs X times faster than the wall clock (default 1)
  --scenario NAME      ${[...SCENARIOS.keys()].join(' | ')}; mix with +, e.g. circuit-dark+bad-payloads (default normal)
  --seed S             seed of the readings (default 1; the generated city itself always uses the default city seed)
  --duration SECONDS   stop after this many wall seconds (default: until SIGINT/SIGTERM)
  --qos 0|1            MQTT QoS (default 1)
  --connections N      MQTT connections (default 4)
  --credentials FILE   device secrets written by \`city-brain credentials\` (the .secrets.json file): each gateway
                       and device logs in as itself (needed when the broker runs with MQTT_AUTH=on)
  --start WHEN         simulated start: now | night | auto | ISO-8601 | epoch ms (default auto: now at speed 1;
                       at higher speed far enough in the past (--duration, else one hour) that timestamps stay
                       behind the wall clock; once they catch up the clock runs at wall speed)
  --max-ahead SECONDS  never let the simulated clock run more than this ahead of the wall clock
                       (default with --start auto: 0; ingest rejects readings more than MAX_FUTURE_SKEW_S ahead)
  --stats-every SECONDS  progress line on stderr (default 5; 0: none)
  --help               this text; --list-scenarios: what each scenario does

prints progress to stderr and a JSON summary to stdout.`;

export { SimulateUsageError };

const decimal = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
function num(check: (n: number) => boolean, what: string) {
  return z
    .string()
    .trim()
    .refine((s) => decimal.test(s) && check(Number(s)), { message: `must be ${what}` })
    .transform(Number);
}

const flagsSchema = z.object({
  url: z
    .string()
    .default('mqtt://127.0.0.1:1883')
    .refine((u) => /^(mqtts?|tcp|wss?):\/\/[^/\s]+\/?$/.test(u), { message: 'must look like mqtt://HOST:PORT' }),
  nodes: num((n) => Number.isInteger(n) && n >= 1 && n <= 5_000_000, 'an integer from 1 to 5000000').optional(),
  registry: z.string().min(1, { message: 'must name a file' }).optional(),
  rate: num((n) => n >= 0, 'a number >= 0 (0: unlimited)').optional(),
  speed: num((n) => n > 0 && n <= 1_000_000, 'a number > 0 (at most 1000000)').default(1),
  scenario: z
    .string()
    .default('normal')
    .superRefine((s, ctx) => {
      try {
        parseScenario(s, defaultKinds());
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),
  seed: num((n) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31, 'an integer').default(1),
  duration: num((n) => n > 0, 'a number of seconds > 0').optional(),
  qos: z
    .enum(['0', '1'], { error: 'must be 0 or 1' })
    .default('1')
    .transform((q) => (q === '1' ? 1 : 0)),
  connections: num((n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'an integer from 1 to 1000').default(4),
  start: z
    .string()
    .default('auto')
    .refine((s) => ['now', 'night', 'auto'].includes(s) || /^\d{12,14}$/.test(s) || !Number.isNaN(Date.parse(s)), {
      message: 'must be now, night, auto, an ISO-8601 time or epoch milliseconds',
    }),
  'max-ahead': num((n) => n >= 0, 'a number of seconds >= 0').optional(),
  'stats-every': num((n) => n >= 0, 'a number of seconds >= 0').default(5),
  credentials: z.string().min(1, { message: 'must name a file' }).optional(),
});

export type SimulateFlags = z.output<typeof flagsSchema> & { help: boolean; listScenarios: boolean };

const stringFlags = [
  'url',
  'nodes',
  'registry',
  'rate',
  'speed',
  'scenario',
  'seed',
  'duration',
  'qos',
  'connections',
  'start',
  'max-ahead',
  'stats-every',
  'credentials',
] as const;

/** Parses and validates the flags; throws SimulateUsageError naming the bad flag. */
export function parseSimulateArgs(argv: string[]): SimulateFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(stringFlags.map((f) => [f, { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' },
        'list-scenarios': { type: 'boolean' },
      },
    }));
  } catch (e) {
    throw new SimulateUsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const r = flagsSchema.safeParse(Object.fromEntries(stringFlags.filter((f) => values[f] !== undefined).map((f) => [f, values[f]])));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const flag = String(issue.path[0] ?? '');
    const got = flag && typeof values[flag] === 'string' ? ` (got ${JSON.stringify(values[flag])})` : '';
    throw new SimulateUsageError(`--${flag}: ${issue.message}${got}`);
  }
  return { ...r.data, help: values.help === true, listScenarios: values['list-scenarios'] === true };
}

/** The simulated start for --start (auto: at speed > 1 far enough back that the run stays in the past). */
export function resolveStart(flags: Pick<SimulateFlags, 'start' | 'speed' | 'duration'>, now = Date.now()): number {
  const s = flags.start;
  if (s === 'now') return now;
  if (s === 'night') return nightStart(now);
  if (s === 'auto') {
    if (flags.speed <= 1) return now;
    const horizonS = flags.duration ?? 3600;
    return Math.floor(now - horizonS * 1000 * (flags.speed - 1));
  }
  return /^\d{12,14}$/.test(s) ? Number(s) : Date.parse(s);
}

export interface SimulateIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Stops the run like SIGINT does (tests). */
  signal?: AbortSignal;
}

function stderrLogger(err: NodeJS.WritableStream): SimLogger {
  const line = (level: string) => (obj: object, msg?: string) => {
    err.write(`simulate: ${level === 'info' ? '' : `${level}: `}${msg ?? ''} ${JSON.stringify(obj)}\n`);
  };
  return { info: line('info'), warn: line('warn'), error: line('error') };
}

function progressLine(s: SimulationStats): string {
  return (
    `simulate: sim ${new Date(s.simNow).toISOString()} | readings ${s.readings} (${s.readingsPerS}/s) | batches ${s.batches} | direct ${s.direct}` +
    ` | bad ${s.badPayloads} | replayed ${s.replayed} | buffered ${s.buffered} | errors ${s.errors} | lag ${s.lagS.toFixed(1)} s\n`
  );
}

/**
 * `city-brain simulate`: publishes a simulated city to a broker until SIGINT/SIGTERM or --duration.
 * Bad flags print one line naming the flag and set exit code 2; an unreachable broker exit code 1.
 */
export async function runSimulate(argv: string[], io: SimulateIo = {}): Promise<void> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  let flags: SimulateFlags;
  try {
    flags = parseSimulateArgs(argv);
  } catch (e) {
    if (!(e instanceof SimulateUsageError)) throw e;
    err.write(`simulate: ${e.message}\n${SIMULATE_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (flags.help) {
    out.write(`${SIMULATE_USAGE}\n`);
    return;
  }
  if (flags.listScenarios) {
    for (const [name, what] of SCENARIOS) out.write(`${name.padEnd(20)} ${what}\n`);
    return;
  }

  let registry: NodeRegistry;
  let nodeLimit: number | undefined;
  let credentials: Awaited<ReturnType<typeof loadDeviceSecrets>> | undefined;
  try {
    if (flags.credentials) credentials = await loadDeviceSecrets(flags.credentials);
    if (flags.registry) {
      registry = await loadRegistryFile(flags.registry, loadKinds(process.env.KIND_PROFILES ? [process.env.KIND_PROFILES] : []));
      nodeLimit = flags.nodes;
    } else {
      registry = flags.nodes === undefined ? generateCity(defaultKinds()) : generateCity(defaultKinds(), citySizeFor(flags.nodes));
    }
  } catch (e) {
    err.write(`simulate: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }

  const start = resolveStart(flags);
  const options: SimulationOptions = {
    url: flags.url,
    registry,
    scenario: flags.scenario,
    seed: flags.seed,
    speed: flags.speed,
    start,
    qos: flags.qos,
    connections: flags.connections,
    logger: stderrLogger(err),
    ...(flags.rate !== undefined ? { rate: flags.rate } : {}),
    ...(nodeLimit !== undefined ? { nodeLimit } : {}),
    ...(credentials ? { credentials } : {}),
    // auto: the run starts in the past; never let it overtake the wall clock (ingest rejects future readings).
    ...(flags['max-ahead'] !== undefined ? { maxAheadS: flags['max-ahead'] } : flags.start === 'auto' ? { maxAheadS: 0 } : {}),
  };
  let sim: Awaited<ReturnType<typeof startSimulation>>;
  try {
    sim = await startSimulation(options);
  } catch (e) {
    err.write(`simulate: ${(e as Error).message.replace(/^simulator: /, '')}\n`);
    process.exitCode = 1;
    return;
  }

  await new Promise<void>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const finish = (why: string) => {
      for (const t of timers) clearTimeout(t);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      io.signal?.removeEventListener('abort', onAbort);
      err.write(`simulate: stopping (${why})\n`);
      resolve();
    };
    const onSignal = (signal: NodeJS.Signals) => finish(signal);
    const onAbort = () => finish('aborted');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    io.signal?.addEventListener('abort', onAbort, { once: true });
    if (io.signal?.aborted) return finish('aborted');
    if (flags.duration !== undefined) timers.push(setTimeout(() => finish('duration reached'), flags.duration * 1000));
    if (flags['stats-every'] > 0) timers.push(setInterval(() => err.write(progressLine(sim.stats())), flags['stats-every'] * 1000));
  });

  await sim.stop();
  const s = sim.stats();
  out.write(
    `${JSON.stringify({
      ...s,
      url: flags.url,
      simStartIso: new Date(s.simStart).toISOString(),
      simNowIso: new Date(s.simNow).toISOString(),
    })}\n`,
  );
}

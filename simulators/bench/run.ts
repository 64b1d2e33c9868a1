import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { citySizeFor, generateCity, NodeRegistry, registryToJson, topicSpecs, TOPICS } from '../../core/index.js';
import { kafkaFixture, type KafkaFixture } from '../../infra/fixtures/kafka.js';
import { startMosquitto, type MosquittoServer } from '../../infra/mosquitto/server.js';
import { generateReading } from '../models/index.js';
import { buildScenario } from '../scenarios.js';
import { kafkaProducerPerf, type KafkaPerfResult } from './kafka-perf.js';
import { Load } from './load.js';
import type { BenchOptions } from './options.js';
import { probeNodes, Prober, subscribeAll, watchKpiStream } from './probe.js';
import { ProcSampler } from './proc.js';
import { quantile, round1 } from './stats.js';
import { embeddedTarget, kafkaTarget, type Stage, type Target } from './target.js';
import { emptyLog } from './empty-log.js';
import { metricsTopicFigures, metricsWritten, sectionParts, type MetricsTopicFigures } from './metrics-topics.js';
import type { KafkaClientName } from '../../core/stream/kafka-shared.js';
import { defaultKinds } from '../../core/kinds/modules.js';

export const LATENCY_DEFINITION =
  'Wall time from just before a probe reading is published (MQTT QoS 1, direct telemetry) to the arrival, at the benchmark, of the first KPI event on GET /api/v1/stream (`kpis`, or a `kpis-patch` applied to it) after which its lot in the parking list shows it ' +
  '(ingest, log, processor, partial, aggregator evaluation, SSE). Probes are parking detectors in one-space lots of their own, published with the same simulated timestamps and into the same queues as the load; ' +
  'a probe still unseen when its step ends counts with its age then (a lower bound). Mosquitto baseline: publish to arrival at the plain subscriber.';

export interface StepResult {
  targetRate: number;
  seconds: number;
  /** Readings per second the simulator published and had acknowledged. */
  publishedPerSecond: number;
  /** Readings (messages for Mosquitto) per second that came out the other end. */
  processedPerSecond: number;
  /** Accepted but not processed (received for Mosquitto) at the end of the step. */
  backlog: number;
  /** Simulator messages waiting for PUBACK at the end of the step (the broker pushing back). */
  inflight: number;
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
  maxLatencyMs: number | null;
  probes: number;
  /** CPU cores the target used on average during the step, and the simulator. */
  targetCpuCores: number;
  simulatorCpuCores: number;
  rssBytes: number;
  keptUp: boolean;
  /**
   * Why the steps stopped here: `backlog`, the target fell behind; `publish`, fewer than 90 % of the
   * rate were published and acknowledged (the simulator short of CPU, or PUBACKs slow: see
   * simulatorCpuCores and inflight).
   */
  limit?: 'publish' | 'backlog';
}

export interface RunResult {
  readingsPerSecond: number;
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
  steps: StepResult[];
  accepted: number;
  processed: number;
  lost: number;
  drainedMs: number;
  cpuSeconds: number;
  rssMaxBytes: number;
  /** Each stage's own highest RSS (the embedded pipeline is the one stage `start`). */
  rssMaxBytesByStage: Record<string, number>;
  startupRssMaxBytes: number;
  startupSeconds: number;
  simulatorCpuSeconds: number;
  gateways: number;
}

/** Readings per simulated second of the city at speed 1 (every node at its expected interval). */
function baseRate(registry: NodeRegistry): number {
  let perS = 0;
  for (const n of registry.all()) perS += 1 / registry.expectedIntervalS(n);
  return perS;
}

interface Driven {
  /** Counters of the target: `in` accepted (Mosquitto: messages acknowledged to the simulator), `out` processed (received). */
  counters(load: { readings: number; messages: number }): Promise<{ in: number; out: number }>;
  mqttUrl: string;
  pids: number[];
  /** The pipeline's processes by stage (several of one stage numbered), for the RSS of each. */
  stagePids?: Record<string, number>;
  /** Observes probes; returns a stop function. */
  observe(prober: Prober): Promise<() => void | Promise<void>>;
  /** Publishes probes (false for nothing to measure, e.g. no probe nodes). */
  probes: boolean;
}

/**
 * Drives one target with the simulator at increasing rates until it no longer keeps up, then lets
 * it drain. A step keeps up when the target's backlog at the end of the step is under two seconds
 * of the rate; the steps go up while they keep up and at least 90 % of the rate is published.
 */
async function driveSteps(
  name: string,
  target: Driven,
  o: BenchOptions,
  plan: { speed: number; start: number; rates: number[] },
  log: (l: string) => void,
) {
  let simNow = plan.start;
  const prober = new Prober(o.probes, () => simNow);
  // Observe first: the subscriber must not miss the first messages.
  const stopObserving = target.probes ? await target.observe(prober) : () => undefined;
  const load = await Load.start({
    url: target.mqttUrl,
    nodes: o.nodes,
    seed: o.seed,
    speed: plan.speed,
    start: plan.start,
    rate: plan.rates[0]!,
    connections: o.connections,
    maxInflight: 4000,
  });
  const stageGroups = Object.entries(target.stagePids ?? {}).map(([stage, pid]): [string, number[]] => [`stage:${stage}`, [pid]]);
  const sampler = new ProcSampler({ target: target.pids, simulator: [load.pid], ...Object.fromEntries(stageGroups) });
  const poll = setInterval(
    () =>
      void load.stats().then(
        (s) => (simNow = s.now),
        () => undefined,
      ),
    200,
  );
  if (target.probes) await prober.start(target.mqttUrl);
  const steps: StepResult[] = [];
  const cpuStart = sampler.cpuSeconds('target');
  const simCpuStart = sampler.cpuSeconds('simulator');
  let counts = { readings: 0, messages: 0 };
  const loadCounts = async () => {
    const { stats } = await load.stats();
    counts = { readings: stats.readings, messages: stats.batches + stats.direct };
    return stats;
  };
  try {
    for (const rate of plan.rates) {
      load.setRate(rate);
      await sleep(o['warm-seconds'] * 1000);
      const t0 = Date.now();
      const s0 = await loadCounts();
      const c0 = await target.counters(counts);
      const cpu0 = sampler.cpuSeconds('target');
      const sim0 = sampler.cpuSeconds('simulator');
      sampler.resetRss('step');
      await sleep(o['step-seconds'] * 1000);
      const s1 = await loadCounts();
      const c1 = await target.counters(counts);
      const t1 = Date.now();
      const dt = (t1 - t0) / 1000;
      const lat = prober.window(t0, t1).map((s) => s.latencyMs);
      const published = (s1.readings - s0.readings) / dt;
      const backlog = c1.in - c1.out;
      const step: StepResult = {
        targetRate: rate,
        seconds: round1(dt),
        publishedPerSecond: Math.round(published),
        processedPerSecond: Math.round((c1.out - c0.out) / dt),
        backlog,
        inflight: s1.inflight,
        p50LatencyMs: quantile(lat, 0.5),
        p99LatencyMs: quantile(lat, 0.99),
        maxLatencyMs: lat.length ? Math.max(...lat) : null,
        probes: lat.length,
        targetCpuCores: Math.round(((sampler.cpuSeconds('target') - cpu0) / dt) * 100) / 100,
        simulatorCpuCores: Math.round(((sampler.cpuSeconds('simulator') - sim0) / dt) * 100) / 100,
        rssBytes: sampler.rssMaxBytes('target'),
        keptUp: false,
      };
      // Backlog in the target's unit (Mosquitto counts messages, a gateway batch being one).
      const perUnit =
        name === 'mosquitto' ? (s1.batches + s1.direct - (s0.batches + s0.direct)) / Math.max(1, s1.readings - s0.readings) : 1;
      // Two seconds of the rate: a consumer fetching in batches (Kafka) always has about a second in flight.
      step.keptUp = backlog <= Math.max(1000, 2 * rate * perUnit);
      if (!step.keptUp) step.limit = 'backlog';
      else if (published < 0.9 * rate) step.limit = 'publish';
      steps.push(step);
      log(
        `${name}: ${rate}/s -> published ${step.publishedPerSecond}/s, processed ${step.processedPerSecond}/s, backlog ${backlog}, p50 ${step.p50LatencyMs} ms, p99 ${step.p99LatencyMs} ms (${step.probes} probes), cpu ${step.targetCpuCores} + sim ${step.simulatorCpuCores}, ${step.keptUp ? 'kept up' : 'NOT kept up'}${step.limit ? ` (limit: ${step.limit})` : ''}`,
      );
      // Up only while the target keeps up and takes the whole rate (PUBACKs waiting = it pushes back).
      if (step.limit) break;
    }
  } finally {
    clearInterval(poll);
    await prober.stop();
  }
  // Stop the load (gateways send what they hold, acknowledgements awaited), then drain: everything accepted must come out.
  const final = await load.stop();
  log(`${name}: load generator stopped`);
  if (final) counts = { readings: final.readings, messages: final.batches + final.direct };
  const drainStart = Date.now();
  let c = await target.counters(counts);
  while (c.in !== c.out && Date.now() - drainStart < 60_000) {
    await sleep(250);
    c = await target.counters(counts);
  }
  const drainedMs = Date.now() - drainStart;
  log(`${name}: drained in ${drainedMs} ms (in ${c.in}, out ${c.out})`);
  await stopObserving();
  const cpuSeconds = sampler.cpuSeconds('target') - cpuStart;
  const simulatorCpuSeconds = sampler.cpuSeconds('simulator') - simCpuStart;
  sampler.stop();
  const best = steps.filter((s) => s.keptUp).sort((a, b) => b.publishedPerSecond - a.publishedPerSecond)[0];
  return {
    steps,
    best,
    accepted: c.in,
    processed: c.out,
    lost: c.in - c.out,
    drainedMs,
    cpuSeconds: round1(cpuSeconds),
    simulatorCpuSeconds: round1(simulatorCpuSeconds),
    rssMaxBytes: Math.max(...steps.map((s) => s.rssBytes), 0),
    /** Each stage's own highest RSS over the whole drive (the stages' peaks need not coincide). */
    rssMaxBytesByStage: Object.fromEntries(
      Object.keys(target.stagePids ?? {}).map((stage) => [stage, sampler.rssMaxBytes(`stage:${stage}`)]),
    ),
    gateways: final?.gateways ?? 0,
  };
}

/** Each stage's pid by its name; a stage run several times numbered from 1 (`process-1`, `process-2`). */
function stagePids(stages: readonly Stage[]): Record<string, number> {
  const count = (name: string) => stages.filter((s) => s.name === name).length;
  const seen = new Map<string, number>();
  return Object.fromEntries(
    stages.map((s) => {
      const n = (seen.get(s.name) ?? 0) + 1;
      seen.set(s.name, n);
      return [count(s.name) > 1 ? `${s.name}-${n}` : s.name, s.child.pid!];
    }),
  );
}

/** `rate` over `base`, to three decimals (null without a base). */
const ratioOf = (rate: number, base: number) => (base > 0 ? Math.round((rate / base) * 1000) / 1000 : null);

/** The headline figures of one driven target: its best step's rate and latencies, its resources, what it lost. */
function figures(r: Awaited<ReturnType<typeof driveSteps>>) {
  return {
    readingsPerSecond: r.best?.publishedPerSecond ?? 0,
    p50LatencyMs: r.best?.p50LatencyMs ?? null,
    p99LatencyMs: r.best?.p99LatencyMs ?? null,
    cpuSeconds: r.cpuSeconds,
    rssMaxBytes: r.rssMaxBytes,
    rssMaxBytesByStage: r.rssMaxBytesByStage,
    lost: r.lost,
    steps: r.steps,
  };
}

/** The median of the known values (the mean of the middle two for an even count); null when none is known. */
function median(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  return known.length === 0 ? null : (known[Math.floor((known.length - 1) / 2)]! + known[Math.ceil((known.length - 1) / 2)]!) / 2;
}

/**
 * Each Kafka client's runs (in the order run) and, per client, the medians over its runs, with
 * ratios over the run's baselines and over the first client's median.
 */
function kafkaClientFigures(
  runs: { client: KafkaClientName | undefined; ours: Awaited<ReturnType<typeof driveSteps>>; startupSeconds: number }[],
  baselineRates: Record<string, number>,
) {
  const kafkaClients = runs.map(({ client, ours, startupSeconds }, run) => ({ run, client, ...figures(ours), startupSeconds }));
  const names = [...new Set(kafkaClients.map((r) => r.client!))];
  const summary = names.map((client) => {
    const mine = kafkaClients.filter((r) => r.client === client);
    return {
      client,
      runs: mine.length,
      readingsPerSecond: median(mine.map((r) => r.readingsPerSecond))!,
      p50LatencyMs: median(mine.map((r) => r.p50LatencyMs)),
      p99LatencyMs: median(mine.map((r) => r.p99LatencyMs)),
      rssMaxBytes: Math.max(...mine.map((r) => r.rssMaxBytes)),
      lost: mine.reduce((sum, r) => sum + r.lost, 0),
    };
  });
  const first = summary[0]!.readingsPerSecond;
  return {
    kafkaClients,
    kafkaClientSummary: summary.map((s) => ({
      ...s,
      /** Median readings per second over each baseline of this run, and over the first client's median. */
      ratios: {
        ...Object.fromEntries(Object.entries(baselineRates).map(([name, base]) => [name, ratioOf(s.readingsPerSecond, base)])),
        [summary[0]!.client]: ratioOf(s.readingsPerSecond, first),
      },
    })),
  };
}

/** Sample telemetry.raw values (as the bridge writes them) for Kafka's producer benchmark. */
function sampleRecords(registry: NodeRegistry, start: number, seed: number, count = 500): string[] {
  const nodes = [...registry.all()];
  const scenario = buildScenario('normal', nodes.slice(0, 1), { seed, start, kinds: registry.kinds });
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const node = nodes[Math.floor((i * nodes.length) / count)]!;
    const reading = generateReading(node, start + i * 1000, { seed, scenario, kinds: registry.kinds });
    out.push(
      JSON.stringify({
        type: 'reading',
        nodeId: node.nodeId,
        kind: node.kind,
        district: node.district,
        receivedAt: start + i * 1000,
        ...(node.gatewayId ? { gatewayId: node.gatewayId } : {}),
        reading,
      }),
    );
  }
  return out;
}

export interface PipelineRun {
  /** The embedded log (LOG_STORE) it ran on; undefined on Kafka. */
  logStore: 'file' | 'memory' | undefined;
  /** The Kafka client (KAFKA_CLIENT) it ran on; undefined embedded. */
  client: KafkaClientName | undefined;
  ours: Awaited<ReturnType<typeof driveSteps>>;
  startupSeconds: number;
  startupRssMaxBytes: number;
  /** The live stream as a client of every section sees it: the whole document it gets first, then the patches' bytes per second. */
  stream: { kpiDocumentBytes: number; patchBytesPerSecond: number | null; wholeAgain: number };
  /** Bytes per second written to each metrics.* topic over the steps, extrapolated to a day; and what makes the sections' bytes. */
  metricsTopics: MetricsTopicFigures & { sectionParts: ReturnType<typeof sectionParts> | null };
}

/** Starts the pipeline (embedded on `logStore`, or the stages on Kafka), drives it through the steps, stops it. */
async function runPipeline(
  o: BenchOptions,
  c: {
    registryFile: string;
    work: string;
    kafka: KafkaFixture | undefined;
    logStore: 'file' | 'memory' | undefined;
    client: KafkaClientName | undefined;
    /** Which run of this bench it is: each has a state directory of its own. */
    index: number;
    planStart: (rates: number[]) => { speed: number; rates: number[]; start: number };
    log: (l: string) => void;
  },
): Promise<PipelineRun> {
  const { log, logStore, client } = c;
  // A state directory of this run's own: state snapshots (and the log) of an earlier run must not be restored into this one.
  const common = {
    registryFile: c.registryFile,
    log,
    env: {
      STATE_DIR: join(c.work, `state-${c.index}-${logStore ?? 'kafka'}`),
      ...(logStore ? { LOG_STORE: logStore } : {}),
      ...(client ? { KAFKA_CLIENT: client } : {}),
    },
    ...(o['cpu-prof'] ? { cpuProfDir: resolve(o['cpu-prof']) } : {}),
  };
  const start = () => (o.kafka ? kafkaTarget({ ...common, brokers: c.kafka!.brokers, processors: o.processors }) : embeddedTarget(common));
  let t0 = Date.now();
  if (o.start === 'restart') {
    // The first start seeds the state (the registry topic, the log's files); the measured one starts on it.
    await (await start()).stop();
    log(`first start and stop took ${round1((Date.now() - t0) / 1000)} s; starting again on the same state`);
    t0 = Date.now();
  }
  const target: Target = await start();
  try {
    const startupSeconds = round1((Date.now() - t0) / 1000);
    const startup = new ProcSampler({ target: target.pids });
    const startupRssMaxBytes = startup.rssMaxBytes('target');
    startup.stop();
    const name = o.kafka ? `kafka, ${client}` : `embedded, ${logStore} log`;
    log(`pipeline (${name}) ready after ${startupSeconds} s; mqtt ${target.mqttUrl}, api ${target.apiUrl}`);
    const stream = { wholeMaxBytes: 0, bytes: 0, wholeAgain: 0, first: 0, last: 0 };
    const written0 = { at: Date.now(), counters: metricsWritten(await target.aggregatorMetrics()) };
    const ours = await driveSteps(
      o.kafka ? `pipeline/${client}` : `pipeline (${logStore} log)`,
      {
        mqttUrl: target.mqttUrl,
        pids: target.pids,
        stagePids: stagePids(target.stages),
        probes: true,
        counters: async () => {
          const counts = await target.counters();
          return { in: counts.accepted, out: counts.processed };
        },
        observe: async (prober) =>
          watchKpiStream(target.apiUrl, ({ states, at, bytes, whole }) => {
            if (whole) stream.wholeMaxBytes = Math.max(stream.wholeMaxBytes, bytes);
            // After the first document every KPI byte counts: a client that fell behind gets the
            // whole document again instead of the patches it missed.
            if (stream.first) {
              stream.bytes += bytes;
              stream.last = at;
              if (whole) stream.wholeAgain++;
            }
            stream.first ||= at;
            states.forEach((occupied, k) => prober.observed(k, occupied, at));
          }),
      },
      o,
      c.planStart(o.rates),
      log,
    );
    const patchBytesPerSecond = stream.last > stream.first ? Math.round((stream.bytes / (stream.last - stream.first)) * 1000) : null;
    const written = metricsTopicFigures(
      written0.counters,
      metricsWritten(await target.aggregatorMetrics()),
      (Date.now() - written0.at) / 1000,
    );
    const kpis = await fetch(`${target.apiUrl}/api/v1/kpis`)
      .then((r) => (r.ok ? (r.json() as Promise<Record<string, unknown>>) : null))
      .catch(() => null);
    log(
      `metrics.* topics: ${written.bytesPerSecond} B/s = ${(written.bytesPerDay / 1e9).toFixed(3)} GB/day (budget ${written.budgetBytesPerDay / 1e9} GB): ${Object.entries(
        written.perTopic,
      )
        .map(([t, f]) => `${t} ${f.bytesPerSecond} B/s`)
        .join(', ')}`,
    );
    return {
      logStore,
      client,
      ours,
      startupSeconds,
      startupRssMaxBytes,
      stream: { kpiDocumentBytes: stream.wholeMaxBytes, patchBytesPerSecond, wholeAgain: stream.wholeAgain },
      metricsTopics: { ...written, sectionParts: kpis && sectionParts(kpis) },
    };
  } finally {
    await target.stop();
    log('pipeline stopped');
  }
}

/** One log's figures, for the comparison of logs in one run. */
function logSummary(r: PipelineRun) {
  const best = r.ours.best;
  return {
    readingsPerSecond: best?.publishedPerSecond ?? 0,
    p50LatencyMs: best?.p50LatencyMs ?? null,
    p99LatencyMs: best?.p99LatencyMs ?? null,
    cpuSeconds: r.ours.cpuSeconds,
    /** Pipeline CPU seconds per million readings processed over the whole load (all steps). */
    cpuSecondsPerMillionReadings: r.ours.processed > 0 ? round1((r.ours.cpuSeconds / r.ours.processed) * 1e6) : null,
    rssMaxBytes: r.ours.rssMaxBytes,
    accepted: r.ours.accepted,
    processed: r.ours.processed,
    lost: r.ours.lost,
    steps: r.ours.steps,
  };
}

/**
 * Each log's figures: its runs' medians (a log named twice was measured twice, so the machine's
 * load drifting over the run weighs alike on both), with every run's figures in `runs`.
 */
export function logFigures(runs: PipelineRun[]) {
  const byLog = new Map<string, ReturnType<typeof logSummary>[]>();
  for (const r of runs) byLog.set(r.logStore!, [...(byLog.get(r.logStore!) ?? []), logSummary(r)]);
  return Object.fromEntries(
    [...byLog].map(([log, mine]) => [
      log,
      mine.length === 1
        ? mine[0]!
        : {
            readingsPerSecond: median(mine.map((r) => r.readingsPerSecond)),
            p50LatencyMs: median(mine.map((r) => r.p50LatencyMs)),
            p99LatencyMs: median(mine.map((r) => r.p99LatencyMs)),
            cpuSecondsPerMillionReadings: median(mine.map((r) => r.cpuSecondsPerMillionReadings)),
            rssMaxBytes: Math.max(...mine.map((r) => r.rssMaxBytes)),
            lost: mine.reduce((sum, r) => sum + r.lost, 0),
            runs: mine,
          },
    ]),
  );
}

/**
 * What keeping the log in files costs against keeping it in memory, as ratios file / memory (of
 * each log's medians): the highest rate kept up (coarse: the steps' size), and pipeline CPU per
 * reading (fine: over every step).
 */
export function durabilityCost(logs: ReturnType<typeof logFigures>) {
  const [f, m] = [logs.file, logs.memory];
  if (!f || !m) return null;
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
  return {
    readingsPerSecondRatio: ratio(f.readingsPerSecond, m.readingsPerSecond),
    cpuPerReadingRatio: ratio(f.cpuSecondsPerMillionReadings, m.cpuSecondsPerMillionReadings),
    p99LatencyMsRatio: ratio(f.p99LatencyMs, m.p99LatencyMs),
    definition:
      'file log / in-process log (the medians of each when named more than once), same city, rates and machine, one after the other in this run: readingsPerSecondRatio = highest rate each kept up with (1 = as fast; below 1 = slower), cpuPerReadingRatio = pipeline CPU seconds per reading over all steps (above 1 = dearer)',
  };
}

export interface BenchReport {
  [key: string]: unknown;
}

/** The whole benchmark: our pipeline, then the baselines, in one run; returns the report. */
export async function runBench(
  o: BenchOptions,
  log: (line: string) => void = (l) => process.stderr.write(`bench: ${l}\n`),
): Promise<BenchReport> {
  const startedAt = new Date();
  const work = mkdtempSync(join(tmpdir(), 'city-brain-bench-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  try {
    // The city the simulator generates, plus the probes: written as the registry file the pipeline loads.
    const city = generateCity(defaultKinds(), citySizeFor(o.nodes));
    const registry = new NodeRegistry([...city.all(), ...probeNodes(o.probes)], [], defaultKinds());
    const registryFile = join(work, 'registry.json');
    writeFileSync(registryFile, registryToJson(registry));
    log(`registry: ${city.size} nodes + ${o.probes} probes -> ${registryFile}`);
    const base = baseRate(city);
    // Below the city's own rate in real time the readings' clock runs slower than the wall clock, and
    // the pipeline (its clock follows the data, then the wall) rightly sees nodes fall silent: not a load test.
    const realTime = Math.ceil(base);
    const below = o.rates.filter((r) => r < realTime);
    if (below.length > 0) {
      log(`skipping rates under ${realTime}/s (the city's readings per second in real time): ${below.join(', ')}`);
      o = { ...o, rates: o.rates.some((r) => r >= realTime) ? o.rates.filter((r) => r >= realTime) : [realTime] };
    }
    const maxRate = Math.max(...o.rates, ...(o.baselines.includes('mosquitto') ? o['baseline-rates'] : []));
    // Fast enough that the city produces more than the highest rate; the rate limit does the rest.
    const speed = Math.max(1, Math.ceil((1.3 * maxRate) / base));
    const plannedS = Math.max(o.rates.length, o['baseline-rates'].length) * (o['step-seconds'] + o['warm-seconds']) + 120;

    let kafka: KafkaFixture | undefined;
    if (o.kafka || o.baselines.includes('kafka')) {
      log('kafka: starting or finding a broker ...');
      kafka = await kafkaFixture();
      cleanups.push(() => kafka!.release());
      log(`kafka: ${kafka.brokers.join(',')} (${kafka.source})`);
    }
    if (o['cpu-prof']) mkdirSync(resolve(o['cpu-prof']), { recursive: true });
    const planStart = (rates: number[]) => ({ speed, rates, start: Math.floor(Date.now() - (plannedS + 60) * 1000 * speed) });
    // The pipeline on each log named (embedded) or on each Kafka client named (Kafka), one after the other.
    const plan: { logStore: 'file' | 'memory' | undefined; client: KafkaClientName | undefined }[] = o.kafka
      ? o['kafka-clients'].map((client) => ({ logStore: undefined, client }))
      : o.logs.map((logStore) => ({ logStore, client: undefined }));
    const runs: PipelineRun[] = [];
    for (const [index, { logStore, client }] of plan.entries()) {
      // Each client on an emptied log: the last one's records, groups and state snapshots would otherwise carry over.
      if (index > 0 && o.kafka && kafka) await emptyLog(kafka, log);
      runs.push(await runPipeline(o, { registryFile, work, kafka, logStore, client, index, planStart, log }));
    }
    const { ours, startupSeconds, startupRssMaxBytes, stream, metricsTopics } = runs[0]!;

    const baselines: Record<string, unknown> = {};
    const oursRate = ours.best?.publishedPerSecond ?? 0;
    const ratio = (base: number) => ratioOf(oursRate, base);
    const baselineRates: Record<string, number> = {};
    if (o.baselines.includes('mosquitto')) {
      let m: MosquittoServer | undefined;
      try {
        m = await startMosquitto({ log });
        const server = m;
        cleanups.push(() => server.stop());
        let sub: Awaited<ReturnType<typeof subscribeAll>> | undefined;
        let prober: Prober | undefined;
        const r = await driveSteps(
          'mosquitto',
          {
            mqttUrl: m.url,
            pids: [m.pid],
            probes: true,
            counters: async (load) => ({ in: load.messages, out: sub?.messages() ?? 0 }),
            observe: async (p) => {
              prober = p;
              sub = await subscribeAll(server.url, (k, occupied, at) => prober?.observed(k, occupied, at));
              return () => sub!.stop();
            },
          },
          o,
          planStart(o['baseline-rates']),
          log,
        );
        const rate = r.best?.publishedPerSecond ?? 0;
        baselineRates.mosquitto = rate;
        const { lost, ...measured } = figures(r);
        baselines.mosquitto = {
          what: `Mosquitto ${m.version} (Debian package) with the same simulated load to one plain QoS 1 subscriber of city/#`,
          ...measured,
          lostMessages: lost,
          ratio: ratio(rate),
        };
      } catch (error) {
        baselines.mosquitto = { error: (error as Error).message };
        log(`mosquitto baseline failed: ${(error as Error).message}`);
      } finally {
        await m?.stop();
      }
    }
    if (o.baselines.includes('kafka') && kafka) {
      try {
        const perf: KafkaPerfResult = await kafkaProducerPerf({
          brokers: kafka.brokers,
          samples: sampleRecords(city, Date.now() - 3_600_000, o.seed),
          records: o['kafka-records'],
          partitions: topicSpecs(defaultKinds()).find((t) => t.name === TOPICS.raw)!.partitions,
          workDir: work,
          log,
        });
        log(`kafka baseline: ${perf.summary}`);
        baselineRates.kafkaProducerPerf = perf.recordsPerSecond;
        baselines.kafkaProducerPerf = { ...perf, ratio: ratio(perf.recordsPerSecond) };
      } catch (error) {
        baselines.kafkaProducerPerf = { error: (error as Error).message };
        log(`kafka baseline failed: ${(error as Error).message}`);
      }
    }

    const result: RunResult = {
      ...figures(ours),
      accepted: ours.accepted,
      processed: ours.processed,
      drainedMs: ours.drainedMs,
      startupRssMaxBytes,
      startupSeconds,
      simulatorCpuSeconds: ours.simulatorCpuSeconds,
      gateways: ours.gateways,
    };
    const targets = o.kafka ? { readingsPerSecond: 30_000 } : { readingsPerSecond: 50_000 };
    return {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      mode: o.kafka ? 'kafka' : 'embedded',
      ...(o.kafka ? {} : { log: runs[0]!.logStore }),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version },
      nodes: city.size,
      probes: o.probes,
      gateways: result.gateways,
      scenario: 'normal',
      seed: o.seed,
      // Measured on a first start or on a restart (see --start).
      start: o.start,
      speed,
      ...(o.kafka ? { processors: o.processors, brokers: kafka!.brokers, kafkaClient: runs[0]!.client } : {}),
      readingsPerSecond: result.readingsPerSecond,
      p50LatencyMs: result.p50LatencyMs,
      p99LatencyMs: result.p99LatencyMs,
      rssMaxBytes: result.rssMaxBytes,
      rssMaxBytesByStage: result.rssMaxBytesByStage,
      startupRssMaxBytes: result.startupRssMaxBytes,
      startupSeconds: result.startupSeconds,
      cpuSeconds: result.cpuSeconds,
      simulatorCpuSeconds: result.simulatorCpuSeconds,
      accepted: result.accepted,
      processed: result.processed,
      lost: result.lost,
      drainedMs: result.drainedMs,
      /** The live stream (every section) of the first run: the whole KPI document a client gets first, and what the patches after it cost. */
      stream,
      /**
       * The metrics.* topics of the first run: bytes per second written to each over the steps and
       * their sum extrapolated to a day (the steps' load: every node changing at the simulator's
       * speed), and the bytes of each section's parts in the last KPI document.
       */
      metricsTopics,
      latencyDefinition: LATENCY_DEFINITION,
      keepUpRule:
        "a step keeps up when accepted - processed at its end is under two seconds of its rate; steps go up while they keep up and >= 90 % of the rate is published and acknowledged (else limit `publish`: the simulator short of CPU or PUBACKs slow); readingsPerSecond is the highest published rate of a step that kept up, the latencies are that step's",
      steps: result.steps,
      ...(!o.kafka && runs.length > 1 ? { logs: logFigures(runs), durabilityCost: durabilityCost(logFigures(runs)) } : {}),
      // --kafka: every client measured, side by side (the figures above are the first run's).
      ...(o.kafka ? kafkaClientFigures(runs, baselineRates) : {}),
      baselines,
      targets: {
        readingsPerSecond: { target: targets.readingsPerSecond, met: result.readingsPerSecond >= targets.readingsPerSecond },
        p99LatencyMs: { target: 2000, met: result.p99LatencyMs !== null && result.p99LatencyMs < 2000 },
        rssMaxBytes: { target: 2 ** 31, met: result.rssMaxBytes < 2 ** 31 },
        lost: { target: 0, met: result.lost === 0 },
        metricsBytesPerDay: { target: metricsTopics.budgetBytesPerDay, met: metricsTopics.met },
      },
      ...(o['cpu-prof'] ? { cpuProfiles: resolve(o['cpu-prof']) } : {}),
    };
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  }
}

export function writeReport(file: string, report: BenchReport): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * `npm run bench` in miniature, as a user runs it (the built CLI): a small city, two short steps,
 * the Mosquitto baseline. Checks the report's shape and that nothing accepted was lost; never speed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBenchArgs } from './options.js';
import { parsePerfSummary } from './kafka-perf.js';
import { probeStatesInKpis, SseSplitter } from './probe.js';
import { durabilityCost, logFigures, type PipelineRun } from './run.js';
import { quantile } from './stats.js';
import { counterByLabel, metricsTopicFigures, sectionParts } from './metrics-topics.js';
import { waitFor } from '../../test/helpers.js';

const CLI = fileURLToPath(new URL('../../dist/simulators/bench/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'city-brain-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench pieces', () => {
  it('parses flags and rejects bad ones by name', () => {
    expect(parseBenchArgs(['--nodes', '2000', '--rates', '400,200', '--kafka', '--baselines', 'none'])).toMatchObject({
      nodes: 2000,
      rates: [200, 400],
      kafka: true,
      baselines: [],
    });
    expect(parseBenchArgs([])).toMatchObject({ nodes: 500_000, kafka: false, baselines: ['mosquitto', 'kafka'], out: 'bench-report.json' });
    expect(() => parseBenchArgs(['--nodes', 'lots'])).toThrow(/^--nodes: must be an integer/);
    expect(() => parseBenchArgs(['--baselines', 'rabbitmq'])).toThrow(/^--baselines:/);
    expect(parseBenchArgs([]).logs).toEqual(['file']);
    expect(parseBenchArgs(['--logs', 'memory,file']).logs).toEqual(['memory', 'file']);
    expect(() => parseBenchArgs(['--logs', 'disk'])).toThrow(/^--logs: logs are file, memory or file,memory/);
    expect(parseBenchArgs([]).start).toBe('first');
    expect(() => parseBenchArgs(['--start', 'warm'])).toThrow(/^--start: start is first or restart/);
    // Naming Kafka clients measures on Kafka, each client in turn.
    expect(parseBenchArgs(['--kafka-clients', 'kafkajs,platformatic'])).toMatchObject({
      kafka: true,
      'kafka-clients': ['kafkajs', 'platformatic'],
    });
    expect(parseBenchArgs(['--kafka'])).toMatchObject({ 'kafka-clients': ['kafkajs'] });
    expect(() => parseBenchArgs(['--kafka-clients', 'rdkafka'])).toThrow(/^--kafka-clients:/);
    expect(parseBenchArgs(['--kafka-clients', 'kafkajs,platformatic,platformatic,kafkajs'])['kafka-clients']).toHaveLength(4);
  });

  it('a log measured more than once: medians per log, and the cost of durability from them (hand-computed)', () => {
    // What logSummary reads of a run: the best step, CPU seconds, what was processed.
    const run = (logStore: 'file' | 'memory', perSecond: number, cpuSeconds: number, p99: number) =>
      ({
        logStore,
        client: undefined,
        ours: {
          best: { publishedPerSecond: perSecond, p50LatencyMs: 800, p99LatencyMs: p99 },
          cpuSeconds,
          processed: 1e6,
          rssMaxBytes: 1,
          accepted: 1e6,
          lost: 0,
          steps: [],
        },
      }) as unknown as PipelineRun;
    const logs = logFigures([
      run('file', 20_000, 30, 1500),
      run('memory', 30_000, 20, 1000),
      run('memory', 20_000, 26, 900),
      run('file', 10_000, 36, 3500),
    ]);
    expect(logs.file).toMatchObject({ readingsPerSecond: 15_000, cpuSecondsPerMillionReadings: 33, p99LatencyMs: 2500 });
    expect(logs.memory).toMatchObject({ readingsPerSecond: 25_000, cpuSecondsPerMillionReadings: 23, p99LatencyMs: 950 });
    expect((logs.file as { runs: unknown[] }).runs).toHaveLength(2);
    expect(durabilityCost(logs)).toMatchObject({ readingsPerSecondRatio: 0.6, cpuPerReadingRatio: 1.435, p99LatencyMsRatio: 2.632 });
    expect(parseBenchArgs(['--logs', 'file,memory,memory,file']).logs).toEqual(['file', 'memory', 'memory', 'file']);
  });

  it('nearest-rank quantiles', () => {
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(
      quantile(
        [...Array(100).keys()].map((i) => i + 1),
        0.99,
      ),
    ).toBe(99);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('turns the metrics counters into bytes per topic per second and per day, and sizes the parts of each section', () => {
    const text = [
      '# HELP citybrain_metrics_written_bytes_total ...',
      'citybrain_metrics_written_bytes_total{topic="metrics.parking"} 1000',
      'citybrain_metrics_written_bytes_total{topic="metrics.nodes"} 200',
      'citybrain_metrics_written_records_total{topic="metrics.parking"} 10',
      'citybrain_metrics_written_bytes_total_other{topic="metrics.x"} 5',
    ].join('\n');
    expect(counterByLabel(text, 'citybrain_metrics_written_bytes_total', 'topic')).toEqual({
      'metrics.parking': 1000,
      'metrics.nodes': 200,
    });
    const before = { bytes: { 'metrics.parking': 1000, 'metrics.nodes': 200 }, records: { 'metrics.parking': 10 } };
    const after = { bytes: { 'metrics.parking': 21_000, 'metrics.nodes': 1200 }, records: { 'metrics.parking': 30 } };
    // 20,000 B and 1,000 B in 10 s: 2,000 B/s and 100 B/s; 2,100 B/s * 86,400 s = 181,440,000 B a day.
    expect(metricsTopicFigures(before, after, 10)).toEqual({
      seconds: 10,
      perTopic: {
        'metrics.nodes': { bytesPerSecond: 100, recordsPerSecond: 0, bytesPerDay: 8_640_000 },
        'metrics.parking': { bytesPerSecond: 2000, recordsPerSecond: 2, bytesPerDay: 172_800_000 },
      },
      bytesPerSecond: 2100,
      bytesPerDay: 181_440_000,
      budgetBytesPerDay: 1e9,
      met: true,
    });
    expect(metricsTopicFigures(before, { ...after, bytes: { 'metrics.parking': 1000 + 120_000 } }, 10).met).toBe(false);
    // {"a":[1,2],"b":"x"} is 19 bytes; [1,2] 5 bytes in 2 items; "x" 3 bytes.
    expect(sectionParts({ s: { a: [1, 2], b: 'x' }, evaluatedAt: 5 })).toEqual({
      s: { bytes: 19, fields: { a: '5 B (2 items, 3 B each)', b: '3 B' } },
    });
  });

  it('splits a server-sent event stream however it is chunked', () => {
    const stream = ': connected\n\nevent: kpis\ndata: {"a":1}\n\nevent: alert\ndata: {}\n\nevent: kpis\ndata: {"b":2}\n\n';
    for (const size of [1, 2, 3, 7, 1000]) {
      const events: string[] = [];
      const splitter = new SseSplitter((e) => events.push(e));
      for (let i = 0; i < stream.length; i += size) splitter.push(stream.slice(i, i + size));
      expect(events, `chunks of ${size}`).toEqual([
        ': connected',
        'event: kpis\ndata: {"a":1}',
        'event: alert\ndata: {}',
        'event: kpis\ndata: {"b":2}',
      ]);
    }
  });

  it('reads probe lots out of a KPI document and the producer tool summary', () => {
    const kpis = {
      parking: {
        list: [
          { lotId: 'LOT-0001', occupied: 1, free: 0 },
          { lotId: 'LOT-BENCH-P00', occupied: 1, free: 0, unknown: 0 },
          { lotId: 'LOT-BENCH-P07', occupied: 0, free: 1, unknown: 0 },
          { lotId: 'LOT-BENCH-P08', occupied: 0, free: 0, unknown: 1 },
        ],
      },
    };
    expect([...probeStatesInKpis(kpis)]).toEqual([
      [0, true],
      [7, false],
    ]);
    const perf = parsePerfSummary(
      '1000 records sent, 200.0 records/sec\n1000000 records sent, 123456.7 records/sec (35.32 MB/sec), 150.5 ms avg latency, 900.0 ms max latency, 120 ms 50th, 400 ms 95th, 700 ms 99th, 850 ms 99.9th.\n',
    );
    expect(perf).toMatchObject({ recordsPerSecond: 123456.7, mbPerSecond: 35.32, p50LatencyMs: 120, p99LatencyMs: 700, maxLatencyMs: 900 });
  });
});

describe('npm run bench (small)', () => {
  it('stopped by SIGTERM, it takes the pipeline it started with it', async () => {
    expect(existsSync(CLI), `${CLI}: run npm run build first`).toBe(true);
    const args = [
      CLI,
      '--nodes',
      '1500',
      '--rates',
      '200',
      '--step-seconds',
      '60',
      '--baselines',
      'none',
      '--out',
      join(dir, 'stopped.json'),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await waitFor(() => /pipeline \(embedded, file log\) ready/.test(text), 60_000, 'the pipeline ready');
    const pid = Number(/starting start \(pid (\d+)/.exec(text)![1]);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    child.kill('SIGTERM');
    expect(await exited, text).toBe(143);
    await waitFor(() => !alive(), 10_000, `the pipeline (pid ${pid}) gone`);
  }, 120_000);

  it('drives the pipeline on the file log and on the in-process log, and Mosquitto, writes a report with the figures, loses nothing', async () => {
    expect(existsSync(CLI), `${CLI}: run npm run build first`).toBe(true);
    const out = join(dir, 'report.json');
    const args = [
      CLI,
      '--nodes',
      '1500',
      '--rates',
      '200,400',
      '--step-seconds',
      '3',
      '--warm-seconds',
      '1',
      '--probes',
      '4',
      '--baselines',
      'mosquitto',
      '--logs',
      'file,memory',
      '--start',
      'restart',
      '--out',
      out,
    ];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      child.once('exit', (c) => resolve({ code: c, output: text }));
    });
    expect(code, output).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report).toMatchObject({
      mode: 'embedded',
      log: 'file',
      start: 'restart',
      nodes: expect.any(Number),
      readingsPerSecond: expect.any(Number),
      rssMaxBytes: expect.any(Number),
      cpuSeconds: expect.any(Number),
      lost: 0,
      latencyDefinition: expect.stringContaining('/api/v1/stream'),
    });
    expect(report.nodes).toBeGreaterThan(1000);
    // The embedded pipeline is one stage; its peak over the whole drive is at least the steps' highest sample.
    expect(Object.keys(report.rssMaxBytesByStage)).toEqual(['start']);
    expect(report.rssMaxBytesByStage.start).toBeGreaterThanOrEqual(report.rssMaxBytes);
    // Each log's pipeline was started, stopped and measured on its second start.
    expect(output.match(/starting again on the same state/g)).toHaveLength(2);
    expect(report.accepted).toBeGreaterThan(0);
    expect(report.processed).toBe(report.accepted);
    expect(report.steps.length).toBeGreaterThan(0);
    for (const step of report.steps)
      expect(step).toMatchObject({ targetRate: expect.any(Number), publishedPerSecond: expect.any(Number), keptUp: expect.any(Boolean) });
    // Probes came back through the KPI stream: latencies are numbers (their size is not judged here).
    expect(report.steps.some((s: { probes: number }) => s.probes > 0)).toBe(true);
    // The stream's cost: one whole document, then patches (bytes per second, some every evaluation).
    expect(report.stream.kpiDocumentBytes).toBeGreaterThan(1000);
    expect(report.stream.patchBytesPerSecond).toBeGreaterThan(0);
    expect(report.baselines.mosquitto).toMatchObject({ readingsPerSecond: expect.any(Number), steps: expect.any(Array) });
    expect(report.baselines.mosquitto.error).toBeUndefined();
    // Both logs in the same run, and the cost of durability as ratios file / memory.
    for (const log of ['file', 'memory'])
      expect(report.logs[log], log).toMatchObject({
        readingsPerSecond: expect.any(Number),
        cpuSecondsPerMillionReadings: expect.any(Number),
        lost: 0,
      });
    expect(report.logs.file.readingsPerSecond).toBe(report.readingsPerSecond);
    expect(report.durabilityCost).toMatchObject({ readingsPerSecondRatio: expect.any(Number), cpuPerReadingRatio: expect.any(Number) });
    // What the metrics.* topics cost: every topic written, in bytes per second and per day, and the sections' parts.
    // (Bytes may be none in steps this short: a section is written when it changed, at most every 10 s.)
    expect(Object.keys(report.metricsTopics.perTopic)).toEqual(expect.arrayContaining(['metrics.parking', 'metrics.nodes']));
    expect(report.metricsTopics.perTopic['metrics.parking']).toMatchObject({
      bytesPerSecond: expect.any(Number),
      bytesPerDay: expect.any(Number),
    });
    expect(report.metricsTopics).toMatchObject({ bytesPerDay: expect.any(Number), budgetBytesPerDay: 1e9, met: true });
    expect(report.metricsTopics.sectionParts.parking.fields.list).toMatch(/items/);
    expect(Object.keys(report.targets)).toEqual(['readingsPerSecond', 'p99LatencyMs', 'rssMaxBytes', 'lost', 'metricsBytesPerDay']);
    expect(report.targets.lost.met).toBe(true);
  }, 180_000);
});

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaToolsLibs } from '../../infra/kafka/dist.js';

export interface KafkaPerfResult {
  tool: 'org.apache.kafka.tools.ProducerPerformance';
  version: string;
  topic: string;
  partitions: number;
  records: number;
  recordBytes: number;
  acks: string;
  recordsPerSecond: number;
  mbPerSecond: number;
  avgLatencyMs: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  maxLatencyMs: number;
  /** The tool's last line, as printed. */
  summary: string;
}

/** `N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th.` */
export function parsePerfSummary(
  output: string,
): Pick<
  KafkaPerfResult,
  'recordsPerSecond' | 'mbPerSecond' | 'avgLatencyMs' | 'p50LatencyMs' | 'p99LatencyMs' | 'maxLatencyMs' | 'summary'
> | null {
  const lines = output.split('\n').filter((l) => /records sent,.*50th/.test(l));
  const line = lines[lines.length - 1];
  if (!line) return null;
  const num = (re: RegExp) => Number(re.exec(line)?.[1] ?? NaN);
  return {
    recordsPerSecond: num(/([\d.]+) records\/sec/),
    mbPerSecond: num(/\(([\d.]+) MB\/sec\)/),
    avgLatencyMs: num(/([\d.]+) ms avg latency/),
    maxLatencyMs: num(/([\d.]+) ms max latency/),
    p50LatencyMs: num(/([\d.]+) ms 50th/),
    p99LatencyMs: num(/([\d.]+) ms 99th/),
    summary: line.trim(),
  };
}

/**
 * Kafka's own producer benchmark on the same broker: `records` records of our real telemetry.raw
 * values (a payload file of sample records, one per line), acks=all like our producer, as fast as
 * it can (--throughput -1), into a fresh topic with the same partition count as telemetry.raw.
 */
export async function kafkaProducerPerf(options: {
  brokers: string[];
  samples: string[];
  records: number;
  partitions: number;
  workDir: string;
  log?: (line: string) => void;
}): Promise<KafkaPerfResult> {
  const tools = await kafkaToolsLibs({ log: options.log });
  const topic = `bench.perf.${Date.now()}`;
  const kafka = new Kafka({ clientId: 'city-brain-bench', brokers: options.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: options.partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const payloadFile = join(options.workDir, 'kafka-perf-payloads.txt');
  // One record per line; the tool picks one at random per send.
  writeFileSync(payloadFile, options.samples.map((s) => s.replace(/\n/g, ' ')).join('\n'));
  const recordBytes = Math.round(options.samples.reduce((a, s) => a + Buffer.byteLength(s), 0) / Math.max(1, options.samples.length));
  const args = [
    '-Xms128m',
    '-Xmx512m',
    '-cp',
    tools.classpath,
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    topic,
    '--num-records',
    String(options.records),
    '--throughput',
    '-1',
    '--payload-file',
    payloadFile,
    '--producer-props',
    `bootstrap.servers=${options.brokers.join(',')}`,
    'acks=all',
  ];
  options.log?.(`kafka baseline: ProducerPerformance ${options.records} records of ~${recordBytes} bytes into ${topic}`);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.env.JAVA ?? 'java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out = (out + d).slice(-50_000)));
    child.stderr.on('data', (d) => (out = (out + d).slice(-50_000)));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`ProducerPerformance exited ${code}: ${out.slice(-2000)}`)),
    );
  });
  const parsed = parsePerfSummary(output);
  if (!parsed) throw new Error(`ProducerPerformance printed no summary: ${output.slice(-2000)}`);
  return {
    tool: 'org.apache.kafka.tools.ProducerPerformance',
    version: tools.version,
    topic,
    partitions: options.partitions,
    records: options.records,
    recordBytes,
    acks: 'all',
    ...parsed,
  };
}

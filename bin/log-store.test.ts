import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, PipelineMetrics, TOPICS } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { FileTransport } from '../core/stream/file/index.js';
import { freshStateDir, metricValue, testConfig } from '../test/helpers.js';
import { createTransport, prepareLog } from './stages.js';

/** A logger whose lines (parsed) land in `lines`. */
function capture() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  return { logger, lines };
}

describe('the embedded log store (LOG_STORE)', () => {
  it('is the file log in STATE_DIR/log by default, and the in-process log with LOG_STORE=memory', async () => {
    const { logger } = capture();
    const stateDir = freshStateDir();
    const file = createTransport(testConfig({ STATE_DIR: stateDir }), logger, new PipelineMetrics({ defaultMetrics: false }));
    expect(file).toMatchObject({ name: 'file', durable: true, stateIn: 'files' });
    await file.close();
    expect(readdirSync(join(stateDir, 'log'))).toContain('groups.json');
    const memory = createTransport(testConfig({ LOG_STORE: 'memory' }), logger, new PipelineMetrics({ defaultMetrics: false }));
    expect(memory).toMatchObject({ name: 'memory', durable: false, stateIn: 'files' });
  });

  it('falls back to the in-process log with one warning when STATE_DIR cannot be written; LOG_STORE=file then stops the start naming STATE_DIR', () => {
    const { logger, lines } = capture();
    const blocked = join(freshStateDir(), 'a-file');
    writeFileSync(blocked, '');
    const stateDir = join(blocked, 'state'); // under a regular file: cannot be made
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    expect(createTransport(testConfig({ STATE_DIR: stateDir }), logger, metrics).name).toBe('memory');
    expect(lines.filter((l) => l.level === 40)).toEqual([
      expect.objectContaining({ msg: expect.stringContaining('STATE_DIR cannot be written') }),
    ]);
    expect(() => createTransport(testConfig({ STATE_DIR: stateDir, LOG_STORE: 'file' }), logger, metrics)).toThrow(ConfigError);
    expect(() => createTransport(testConfig({ STATE_DIR: stateDir, LOG_STORE: 'file' }), logger, metrics)).toThrow(/STATE_DIR/);
  });

  it('stops a second process on the same STATE_DIR with one line naming it', () => {
    const stateDir = freshStateDir();
    mkdirSync(join(stateDir, 'log'));
    writeFileSync(join(stateDir, 'log', 'lock'), String(process.ppid)); // a live process that is not this one
    const { logger } = capture();
    const start = () => createTransport(testConfig({ STATE_DIR: stateDir }), logger, new PipelineMetrics({ defaultMetrics: false }));
    expect(start).toThrow(ConfigError);
    expect(start).toThrow(`invalid configuration: STATE_DIR: the log in ${join(stateDir, 'log')} is in use by process ${process.ppid}`);
  });

  it('reports what recovery cut off in one log line and a metric, and starts', async () => {
    const stateDir = freshStateDir();
    const kinds = defaultKinds();
    // A log with readings in one partition, then its segment torn inside the last record.
    const first = new FileTransport({ dir: join(stateDir, 'log') });
    await prepareLog(first, kinds);
    await (
      await first.producer()
    ).send(
      TOPICS.raw,
      Array.from({ length: 10 }, (_, i) => ({ key: 'SL-1', value: Buffer.from(`reading ${i}`) })),
    );
    await first.close();
    const partitionDir = readdirSync(join(stateDir, 'log', encodeURIComponent(TOPICS.raw)))
      .map((p) => join(stateDir, 'log', encodeURIComponent(TOPICS.raw), p))
      .find((d) => readdirSync(d).some((f) => f.endsWith('.log') && readFileSync(join(d, f)).length > 0))!;
    const segment = join(
      partitionDir,
      readdirSync(partitionDir).find((f) => f.endsWith('.log'))!,
    );
    const bytes = readFileSync(segment);
    writeFileSync(segment, bytes.subarray(0, bytes.length - 3));

    const { logger, lines } = capture();
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const transport = createTransport(testConfig({ STATE_DIR: stateDir }), logger, metrics);
    await prepareLog(transport, kinds);
    const reports = lines.filter((l) => l.msg.startsWith('log recovered'));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ level: 40, dropped: [expect.objectContaining({ topic: TOPICS.raw, reason: 'torn', segment })] });
    const dropped = (reports[0]!.dropped as { bytes: number }[])[0]!.bytes;
    expect(dropped).toBe(bytes.length - 3 - Number((reports[0]!.dropped as { position: number }[])[0]!.position));
    expect(metricValue(await metrics.registry.metrics(), 'citybrain_log_recovery_dropped_bytes_total', { reason: 'torn' })).toBe(dropped);
    await transport.close();
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Aedes } from 'aedes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline } from '../bin/pipeline.js';
import { generateCity } from '../core/index.js';
import { provisionFile } from '../ingest/auth/index.js';
import { metricValue, testConfig } from '../test/helpers.js';
import { parseSimulateArgs, resolveStart, runSimulate, SimulateUsageError } from './cli.js';
import { defaultKinds } from '../core/kinds/modules.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream, text: () => text };
}

describe('simulate flags', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('parses every flag', () => {
    const f = parseSimulateArgs([
      '--url',
      'mqtt://127.0.0.1:1884',
      '--nodes',
      '500',
      '--rate',
      '250',
      '--speed',
      '60',
      '--scenario',
      'circuit-dark+bad-payloads',
      '--seed',
      '7',
      '--duration',
      '30',
      '--qos',
      '0',
    ]);
    expect(f).toMatchObject({
      url: 'mqtt://127.0.0.1:1884',
      nodes: 500,
      rate: 250,
      speed: 60,
      scenario: 'circuit-dark+bad-payloads',
      seed: 7,
      duration: 30,
      qos: 0,
    });
    expect(parseSimulateArgs([])).toMatchObject({ url: 'mqtt://127.0.0.1:1883', speed: 1, scenario: 'normal', seed: 1, qos: 1 });
  });

  it.each([
    [['--rate', 'fast'], /^--rate: must be a number >= 0.*\(got "fast"\)/],
    [['--speed', '0'], /^--speed: must be a number > 0/],
    [['--nodes', '2.5'], /^--nodes: must be an integer/],
    [['--qos', '2'], /^--qos: must be 0 or 1/],
    [['--scenario', 'meteor'], /^--scenario: unknown scenario "meteor"/],
    [['--url', 'http://x'], /^--url: must look like mqtt:\/\/HOST:PORT/],
    [['--start', 'yesterday-ish'], /^--start: must be now, night, auto/],
    [['--bogus', '1'], /Unknown option '--bogus'/],
    [['--rate'], /--rate/],
  ])('rejects %j clearly', (argv, message) => {
    expect(() => parseSimulateArgs(argv)).toThrow(SimulateUsageError);
    expect(() => parseSimulateArgs(argv)).toThrow(message);
  });

  it('prints the error and usage, exit code 2, for bad flags', async () => {
    const out = capture();
    const err = capture();
    await runSimulate(['--speed=-3'], { stdout: out.stream, stderr: err.stream });
    expect(process.exitCode).toBe(2);
    expect(err.text()).toMatch(/^simulate: --speed: must be a number > 0/);
    expect(err.text()).toContain('usage: city-brain simulate');
    expect(out.text()).toBe('');
  });

  it('auto start keeps a fast run behind the wall clock', () => {
    const now = Date.parse('2026-03-10T04:00:00Z');
    expect(resolveStart({ start: 'auto', speed: 1, duration: undefined }, now)).toBe(now);
    const s = resolveStart({ start: 'auto', speed: 60, duration: 10 }, now);
    expect(s + 10_000 * 60).toBe(now + 10_000);
    expect(resolveStart({ start: '2026-01-01T00:00:00+08:00', speed: 1, duration: undefined }, now)).toBe(
      Date.parse('2025-12-31T16:00:00Z'),
    );
  });
});

describe('simulate run', () => {
  let broker: Aedes;
  let server: Server;
  beforeAll(async () => {
    broker = await Aedes.createBroker();
    server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('runs for --duration and prints a JSON summary to stdout', async () => {
    const port = (server.address() as AddressInfo).port;
    const out = capture();
    const err = capture();
    await runSimulate(
      [
        '--url',
        `mqtt://127.0.0.1:${port}`,
        '--nodes',
        '300',
        '--speed',
        '30',
        '--duration',
        '1.5',
        '--scenario',
        'demo',
        '--stats-every',
        '0.5',
      ],
      {
        stdout: out.stream,
        stderr: err.stream,
      },
    );
    expect(process.exitCode ?? 0).toBe(0);
    const summary = JSON.parse(out.text());
    expect(summary.scenario).toBe('demo');
    expect(summary.readings).toBeGreaterThan(0);
    expect(summary.errors).toBe(0);
    expect(summary.nodes).toBeGreaterThan(300);
    expect(summary.simNow).toBeLessThanOrEqual(Date.now());
    expect(err.text()).toMatch(/simulate: sim \d{4}-.*readings \d+/);
    expect(err.text()).toContain('stopping (duration reached)');
  });
});

describe('simulate with device credentials (broker with MQTT_AUTH=on)', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('logs every gateway and device in with --credentials, and names a missing secrets file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'city-brain-sim-auth-'));
    const registry = generateCity(defaultKinds());
    await provisionFile({ registry, out: join(dir, 'credentials.json'), secrets: join(dir, 'secrets.json'), allNodes: false });
    const pipeline = await startPipeline({
      config: testConfig({ MQTT_AUTH: 'on', MQTT_CREDENTIALS: join(dir, 'credentials.json') }),
      registry,
    });
    try {
      const missing = capture();
      await runSimulate(['--url', `mqtt://127.0.0.1:${pipeline.mqttPort}`, '--credentials', join(dir, 'nope.json')], {
        stdout: capture().stream,
        stderr: missing.stream,
      });
      expect(process.exitCode).toBe(2);
      expect(missing.text()).toContain(join(dir, 'nope.json'));
      process.exitCode = undefined;

      const out = capture();
      await runSimulate(
        [
          '--url',
          `mqtt://127.0.0.1:${pipeline.mqttPort}`,
          '--credentials',
          join(dir, 'secrets.json'),
          '--speed',
          '30',
          '--duration',
          '2',
          '--stats-every',
          '0',
        ],
        { stdout: out.stream, stderr: capture().stream },
      );
      expect(process.exitCode ?? 0).toBe(0);
      expect(JSON.parse(out.text()).errors).toBe(0);
      const metrics = await (await fetch(`http://127.0.0.1:${pipeline.httpPort}/metrics`)).text();
      expect(metricValue(metrics, 'citybrain_readings_accepted_total', { kind: 'streetlight' })).toBeGreaterThan(0);
      expect(metricValue(metrics, 'citybrain_readings_rejected_total', { reason: 'unauthorized' })).toBe(0);
      expect(metricValue(metrics, 'citybrain_mqtt_refused_total', { cause: 'bad-credentials' })).toBe(0);
    } finally {
      await pipeline.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

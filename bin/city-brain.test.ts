import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../test/helpers.js';
import { freePort } from '../infra/process.js';

const CLI = fileURLToPath(new URL('../dist/bin/city-brain.js', import.meta.url));

function run(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does) before this test`);
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('city-brain command', () => {
  let running: ChildProcess | undefined;
  afterEach(() => {
    running?.kill('SIGKILL');
    running = undefined;
  });

  it('start: serves /health within 30 s on the given ports, lists lamps, and stops cleanly on SIGTERM', async () => {
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const p = run(['start'], {
      MQTT_PORT: String(mqttPort),
      HTTP_PORT: String(httpPort),
      MQTT_HOST: '127.0.0.1',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    running = p.child;
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${httpPort}/health`)).status === 200,
      30_000,
      `/health (output: ${p.output().slice(-500)})`,
    );
    const lamps = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/nodes?kind=streetlight&limit=3`)).json()) as {
      items: { node: { district: string } }[];
    };
    expect(lamps.items).toHaveLength(3);
    expect(lamps.items[0]!.node.district).toBeTruthy();
    // MQTT_AUTH is on by default: without credentials it still starts, and says how to provision.
    expect(p.output()).toContain('MQTT_AUTH is on and MQTT_CREDENTIALS is not set: every MQTT connection will be refused');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('pipeline stopped');
  }, 60_000);

  it("credentials: provisions the city's gateways and direct nodes; start refuses a broken file naming the entry", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citybrain-cli-'));
    try {
      const out = join(dir, 'credentials.json');
      const p = run(['credentials', '--out', out], {});
      expect(await p.exited).toBe(0);
      expect(p.output()).toMatch(/credentials\.json: 139 entries \(48 gateways, 91 devices\), 139 new/);
      expect(p.output()).toContain(`written once to ${join(dir, 'credentials.secrets.json')} (mode 0600)`);
      const secrets = JSON.parse(readFileSync(join(dir, 'credentials.secrets.json'), 'utf8')) as {
        secrets: { username: string; password: string }[];
      };
      expect(secrets.secrets).toHaveLength(139);
      expect(readFileSync(out, 'utf8')).not.toContain(secrets.secrets[0]!.password);

      writeFileSync(join(dir, 'broken.json'), JSON.stringify({ version: 1, entries: [{ type: 'device', id: 'GW-1' }] }));
      const start = run(['start'], {
        MQTT_CREDENTIALS: join(dir, 'broken.json'),
        MQTT_PORT: '0',
        HTTP_PORT: '0',
        MQTT_HOST: '127.0.0.1',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
      });
      running = start.child;
      expect(await start.exited).toBe(2);
      expect(start.output()).toMatch(/^city-brain: credentials file .*broken\.json: 1 invalid entry:\nentry 0 \(GW-1\): secret: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a bad setting with one line naming the variable and exit code 2', async () => {
    const p = run(['start'], { HTTP_PORT: 'http', LOG_LEVEL: 'silent' });
    running = p.child;
    expect(await p.exited).toBe(2);
    expect(p.output().trim().split('\n')).toHaveLength(1);
    expect(p.output()).toMatch(/^city-brain: invalid configuration: HTTP_PORT: /);
  });

  it('LOG_FORMAT=pretty writes readable lines (pino-pretty) instead of JSON; the start says where to go', async () => {
    const httpPort = await freePort();
    const p = run(['start'], {
      MQTT_PORT: '0',
      HTTP_PORT: String(httpPort),
      MQTT_HOST: '127.0.0.1',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'pretty',
      STATE_DIR: mkdtempSync(join(tmpdir(), 'citybrain-cli-')),
    });
    running = p.child;
    await waitFor(() => p.output().includes('pipeline running'), 30_000, `the start banner (output: ${p.output().slice(-500)})`);
    const banner = p
      .output()
      .split('\n')
      .find((l) => l.includes('pipeline running'))!;
    expect(banner).toMatch(
      new RegExp(
        `^\\[\\d\\d:\\d\\d:\\d\\d\\] INFO.*pipeline running: KPIs at http://127\\.0\\.0\\.1:${httpPort}/api/v1/kpis, API docs at http://127\\.0\\.0\\.1:${httpPort}/docs`,
      ),
    );
    expect(banner).toContain('npm run demo');
    expect(p.output()).not.toContain('{"level"');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 60_000);

  it('--help on every command prints its usage and exits 0, starting nothing', async () => {
    for (const command of ['start', 'demo', 'ingest', 'process', 'api', 'sink', 'simulate', 'registry', 'credentials']) {
      const p = run([command, '--help'], { MQTT_PORT: '1', HTTP_PORT: '1' }); // ports nobody may bind: a start would fail
      expect(await p.exited, `${command} --help: ${p.output()}`).toBe(0);
      expect(p.output(), command).toMatch(new RegExp(`usage: (city-brain ${command}|city-brain simulate|npm run simulate)`));
    }
    for (const script of ['dashboards/cli.js', 'simulators/bench/cli.js']) {
      const child = spawn(process.execPath, [join(CLI, '..', '..', script), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      expect(await new Promise((resolve) => child.on('exit', resolve)), script).toBe(0);
      expect(out, script).toMatch(/usage: npm run/);
    }
  });

  it('a port already in use ends the start with one line naming the setting, exit code 2', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      for (const [name, env] of [
        ['MQTT_PORT', { MQTT_PORT: String(taken), HTTP_PORT: '0' }],
        ['HTTP_PORT', { MQTT_PORT: '0', HTTP_PORT: String(taken) }],
      ] as const) {
        const p = run(['start'], {
          ...env,
          MQTT_HOST: '127.0.0.1',
          HTTP_HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
          STATE_DIR: mkdtempSync(join(tmpdir(), 'citybrain-cli-')),
        });
        running = p.child;
        expect(await p.exited).toBe(2);
        expect(p.output().trim().split('\n')).toEqual([
          `city-brain: port ${taken} on 127.0.0.1 is already in use (${name}): stop what holds it, or set ${name} to a free port`,
        ]);
      }
    } finally {
      blocker.close();
    }
  });

  it('registry --out x.csv writes CSV that REGISTRY=x.csv starts with', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citybrain-cli-'));
    try {
      const file = join(dir, 'city.csv');
      const write = run(['registry', '--out', file, '--nodes', '500'], {});
      expect(await write.exited).toBe(0);
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n')[0]).toMatch(/^nodeId,kind,district,lat,lon,/);
      const nodes = text.trim().split('\n').length - 1 - (text.match(/^[^,]*,road,/gm)?.length ?? 0);
      expect(write.output()).toContain(`wrote ${nodes} nodes to ${file}; start with REGISTRY=${file}`);
      const httpPort = await freePort();
      const p = run(['start'], {
        REGISTRY: file,
        MQTT_PORT: '0',
        HTTP_PORT: String(httpPort),
        MQTT_HOST: '127.0.0.1',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        STATE_DIR: join(dir, 'state'),
      });
      running = p.child;
      const listed = await waitFor(
        async () => ((await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/nodes?limit=1`)).json()) as { total: number }).total,
        30_000,
        `the API (output: ${p.output().slice(-500)})`,
      );
      expect(listed).toBe(nodes);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('npm start stops the pipeline on SIGTERM to the npm process (no orphan left serving)', async () => {
    const httpPort = await freePort();
    // --ignore-scripts skips prestart's build (npm test has built dist/); start itself still runs.
    const npm = spawn('npm', ['start', '--ignore-scripts', '--silent'], {
      cwd: join(CLI, '..', '..', '..'),
      env: {
        ...process.env,
        MQTT_PORT: '0',
        HTTP_PORT: String(httpPort),
        MQTT_HOST: '127.0.0.1',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        STATE_DIR: mkdtempSync(join(tmpdir(), 'citybrain-cli-')),
      },
      stdio: 'ignore',
    });
    running = npm;
    const exited = new Promise((resolve) => npm.on('exit', resolve));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/health`)).status === 200, 30_000, '/health of npm start');
    npm.kill('SIGTERM');
    await exited;
    // Nothing serves on the port any more: the pipeline itself got the signal and stopped.
    await waitFor(
      async () =>
        fetch(`http://127.0.0.1:${httpPort}/health`).then(
          () => false,
          () => true,
        ),
      20_000,
      'the pipeline to stop serving',
    );
  }, 60_000);

  it('demo: logs its temporary state directory and removes it when stopped', async () => {
    const httpPort = await freePort();
    const env: Record<string, string> = {
      MQTT_PORT: '0',
      HTTP_PORT: String(httpPort),
      MQTT_HOST: '127.0.0.1',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    };
    const p = run(['demo'], env);
    running = p.child;
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${httpPort}/health`)).status === 200,
      30_000,
      `/health of the demo (output: ${p.output().slice(-500)})`,
    );
    const dir = /demo: state snapshots in (\S+) /.exec(p.output())?.[1];
    expect(dir, p.output()).toBeDefined();
    expect(existsSync(dir!)).toBe(true);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(existsSync(dir!)).toBe(false);
  }, 60_000);

  it('the default secrets file of `credentials` is ignored by git', () => {
    const root = join(CLI, '..', '..', '..');
    for (const file of ['credentials.secrets.json', 'city/devices.secrets.json']) {
      expect(spawnSync('git', ['check-ignore', '-q', file], { cwd: root }).status, file).toBe(0);
    }
  });

  it('refuses an unknown command with usage', async () => {
    const p = run(['frobnicate'], {});
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('unknown command "frobnicate"');
    expect(p.output()).toContain('usage: city-brain');
  });

  it('a bad kind profile stops the start with one line naming the file, the path in it and the reason (exit code 2)', async () => {
    const air = (over: Record<string, unknown> = {}) => ({
      kind: 'air',
      title: 'Air quality',
      expectedIntervalS: 300,
      fields: { pm10: { type: 'number', unit: 'ug/m3', min: 0, max: 1000, required: true }, no2: { type: 'number', min: 0, max: 2000 } },
      alerts: [
        {
          alert: 'AirPolluted',
          severity: 'major',
          when: { field: 'pm10', op: 'gt', value: 150 },
          holdS: 600,
          summary: 'PM10 {value} at {nodeId}',
        },
      ],
      ...over,
    });
    const cases: Array<{ files: Record<string, unknown>; file: string; line: RegExp }> = [
      {
        files: { 'air.json': air({ fields: { pm10: { type: 'float' } } }) },
        file: 'air.json',
        line: /air\.json: fields\.pm10(\.type)?: unknown field type "float" \(one of number, boolean, enum\)$/,
      },
      {
        files: {
          'air.json': air({
            alerts: [{ alert: 'AirPolluted', severity: 'major', when: { field: 'pm10', op: 'gt', value: 5000 }, summary: 'x' }],
          }),
        },
        file: 'air.json',
        line: /air\.json: alerts\[0\]\.when\.value: threshold 5000 is outside the field's range 0\.\.1000$/,
      },
      { files: { 'a.json': air(), 'b.json': air() }, file: 'b.json', line: /b\.json: kind: air is already defined by .*a\.json$/ },
      {
        files: {
          'air.json': air({
            alerts: [{ alert: 'AirPolluted', severity: 'major', when: { field: 'pm25', op: 'gt', value: 75 }, summary: 'x' }],
          }),
        },
        file: 'air.json',
        line: /air\.json: alerts\[0\]\.when\.field: no field "pm25" in fields \(pm10, no2\)$/,
      },
      {
        files: { 'noise.json': air({ kind: 'noise' }) },
        file: 'noise.json',
        line: /noise\.json: kind: noise is a built-in kind; choose another name$/,
      },
    ];
    for (const c of cases) {
      const dir = mkdtempSync(join(tmpdir(), 'citybrain-profiles-'));
      try {
        for (const [name, body] of Object.entries(c.files)) writeFileSync(join(dir, name), JSON.stringify(body));
        const p = run(['start'], {
          KIND_PROFILES: dir,
          MQTT_PORT: '0',
          HTTP_PORT: '0',
          MQTT_HOST: '127.0.0.1',
          HTTP_HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
        });
        running = p.child;
        expect(await p.exited, p.output()).toBe(2);
        const lines = p.output().trim().split('\n');
        expect(lines, p.output()).toHaveLength(1);
        expect(lines[0]).toContain(`city-brain: ${join(dir, c.file)}: `);
        expect(lines[0]).toMatch(c.line);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 60_000);
});

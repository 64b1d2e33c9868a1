import { spawn, type ChildProcess } from 'node:child_process';
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
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
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
    const p = run(['start'], { MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort), MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    running = p.child;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/health`)).status === 200, 30_000, `/health (output: ${p.output().slice(-500)})`);
    const lamps = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/nodes?kind=streetlight&limit=3`)).json()) as { items: { node: { district: string } }[] };
    expect(lamps.items).toHaveLength(3);
    expect(lamps.items[0]!.node.district).toBeTruthy();
    // MQTT_AUTH is on by default: without credentials it still starts, and says how to provision.
    expect(p.output()).toContain('MQTT_AUTH is on and MQTT_CREDENTIALS is not set: every MQTT connection will be refused');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('pipeline stopped');
  }, 60_000);

  it('credentials: provisions the city\'s gateways and direct nodes; start refuses a broken file naming the entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citybrain-cli-'));
    try {
      const out = join(dir, 'credentials.json');
      const p = run(['credentials', '--out', out], {});
      expect(await p.exited).toBe(0);
      expect(p.output()).toMatch(/credentials\.json: 108 entries \(36 gateways, 72 devices\), 108 new/);
      expect(p.output()).toContain(`written once to ${join(dir, 'credentials.secrets.json')} (mode 0600)`);
      const secrets = JSON.parse(readFileSync(join(dir, 'credentials.secrets.json'), 'utf8')) as { secrets: { username: string; password: string }[] };
      expect(secrets.secrets).toHaveLength(108);
      expect(readFileSync(out, 'utf8')).not.toContain(secrets.secrets[0]!.password);

      writeFileSync(join(dir, 'broken.json'), JSON.stringify({ version: 1, entries: [{ type: 'device', id: 'GW-1' }] }));
      const start = run(['start'], { MQTT_CREDENTIALS: join(dir, 'broken.json'), MQTT_PORT: '0', HTTP_PORT: '0', MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
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

  it('refuses an unknown command with usage', async () => {
    const p = run(['frobnicate'], {});
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('unknown command "frobnicate"');
    expect(p.output()).toContain('usage: city-brain');
  });
});

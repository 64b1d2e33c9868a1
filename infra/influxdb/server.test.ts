/**
 * Against a real InfluxDB OSS 1.x (INFLUX_URL if set, else a local influxd from the cached build:
 * see infra/fixtures/influxdb.ts). Plain fetch: no client library.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxdbFixture, INFLUXDB_FIXTURE_TIMEOUT_MS, type InfluxdbFixture } from '../fixtures/influxdb.js';
import { isAlive } from '../process.js';
import { authHeader, startInfluxdb } from './server.js';

beforeAll(
  () =>
    influxdbFixture().then(
      () => {},
      () => {},
    ),
  INFLUXDB_FIXTURE_TIMEOUT_MS,
);
afterAll(async () => (await influxdbFixture().catch(() => null))?.release());

const unique = (prefix: string) => `${prefix}_${Date.now()}_${randomBytes(3).toString('hex')}`;

async function write(
  influx: Pick<InfluxdbFixture, 'url' | 'bucket' | 'token'>,
  lines: string[],
  token: string | null = influx.token,
): Promise<Response> {
  return fetch(`${influx.url}/api/v2/write?bucket=${encodeURIComponent(influx.bucket)}&precision=ms`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=utf-8', ...(token ? { authorization: authHeader(token) } : {}) },
    body: lines.join('\n'),
  });
}

interface Series {
  name: string;
  columns: string[];
  values: unknown[][];
}

async function select(influx: InfluxdbFixture, q: string): Promise<Series[]> {
  const params = new URLSearchParams({ db: influx.database, q, epoch: 'ms' });
  const response = await fetch(`${influx.url}/query?${params.toString()}`, { headers: { authorization: authHeader(influx.token) } });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const json = JSON.parse(text) as { results: Array<{ series?: Series[]; error?: string }> };
  expect(json.results[0]?.error).toBeUndefined();
  return json.results[0]?.series ?? [];
}

describe('InfluxDB (real server)', () => {
  it('answers /health and /ping', async () => {
    const influx = await influxdbFixture();
    const health = await fetch(`${influx.url}/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { name: string; status: string; version: string };
    expect(body).toMatchObject({ name: 'influxdb', status: 'pass' });
    expect(body.version).toMatch(/^1\./);
    const ping = await fetch(`${influx.url}/ping`);
    expect(ping.status).toBe(204);
    expect(ping.headers.get('x-influxdb-version')).toMatch(/^1\./);
  });

  it('takes line protocol on /api/v2/write and returns it through InfluxQL on /query', async () => {
    const influx = await influxdbFixture();
    const measurement = unique('it_streetlight');
    const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);
    const response = await write(influx, [
      `${measurement},node=n-1,district=centre power_w=41.5,on=true,status="ok" ${t0}`,
      `${measurement},node=n-1,district=centre power_w=42.25,on=true,status="ok" ${t0 + 1000}`,
      `${measurement},node=n-2,district=harbour power_w=0,on=false,status="fault" ${t0 + 1000}`,
    ]);
    expect(response.status, await response.text()).toBe(204);

    const rows = await select(influx, `SELECT power_w, "on", status, node FROM "${measurement}" ORDER BY time ASC`);
    expect(rows).toHaveLength(1);
    const [series] = rows as [Series];
    expect(series.columns).toEqual(['time', 'power_w', 'on', 'status', 'node']);
    expect(series.values).toEqual([
      [t0, 41.5, true, 'ok', 'n-1'],
      [t0 + 1000, 42.25, true, 'ok', 'n-1'],
      [t0 + 1000, 0, false, 'fault', 'n-2'],
    ]);

    const grouped = await select(
      influx,
      `SELECT mean(power_w) FROM "${measurement}" WHERE time >= ${t0}ms AND time <= ${t0 + 1000}ms GROUP BY node`,
    );
    const means = Object.fromEntries(grouped.map((s) => [(s as Series & { tags: { node: string } }).tags.node, s.values[0]?.[1]]));
    expect(means).toEqual({ 'n-1': 41.875, 'n-2': 0 });
  });

  it('overwrites a point written again with the same series and timestamp', async () => {
    const influx = await influxdbFixture();
    const measurement = unique('it_parking');
    const t = Date.UTC(2026, 0, 15, 13, 0, 0);
    for (const occupied of [3, 7]) {
      const response = await write(influx, [`${measurement},node=p-1 occupied=${occupied}i ${t}`]);
      expect(response.status, await response.text()).toBe(204);
    }
    const count = await select(influx, `SELECT count(occupied) FROM "${measurement}"`);
    expect(count[0]?.values).toEqual([[0, 1]]);
    const value = await select(influx, `SELECT occupied FROM "${measurement}"`);
    expect(value[0]?.values).toEqual([[t, 7]]);
  });

  it('answers Flux on /api/v2/query (the Rust libflux part of the build)', async () => {
    const influx = await influxdbFixture();
    const measurement = unique('it_noise');
    const t = Date.now() - 60_000;
    const response = await write(influx, [`${measurement},node=s-1 leq=50 ${t}`, `${measurement},node=s-1 leq=60 ${t + 1000}`]);
    expect(response.status, await response.text()).toBe(204);
    const flux = await fetch(`${influx.url}/api/v2/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.flux', accept: 'application/csv', authorization: authHeader(influx.token) },
      body: `from(bucket: "${influx.bucket}") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "${measurement}") |> mean()`,
    });
    const csv = await flux.text();
    expect(flux.status, csv).toBe(200);
    const [header, row] = csv.trim().split(/\r?\n/) as [string, string];
    const value = row.split(',')[header.split(',').indexOf('_value')];
    expect(Number(value)).toBe(55);
  });

  it('rejects malformed line protocol with 400', async () => {
    const influx = await influxdbFixture();
    const response = await write(influx, [`${unique('it_bad')} this is not line protocol`]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/unable to parse/);
  });
});

describe('startInfluxdb', () => {
  it('with auth on, checks the token, and stop() ends influxd and removes its data', async () => {
    const influx = await startInfluxdb({ auth: true, database: 'citybrain_auth' });
    try {
      expect(influx.bucket).toBe('citybrain_auth/autogen');
      const line = `${unique('it_auth')},node=n-1 v=1 ${Date.now()}`;
      const anonymous = await write(influx, [line], null);
      expect(anonymous.status).toBe(401);
      const wrong = await write(influx, [line], 'citybrain:wrong');
      expect(wrong.status).toBe(401);
      const ok = await write(influx, [line], influx.token);
      expect(ok.status, await ok.text()).toBe(204);
      expect((await fetch(`${influx.url}/health`)).status).toBe(200);
    } finally {
      await influx.stop();
    }
    expect(isAlive(influx.pid)).toBe(false);
    expect(existsSync(influx.dataDir)).toBe(false);
    await expect(fetch(`${influx.url}/health`)).rejects.toThrow();
  }, 120_000);
});

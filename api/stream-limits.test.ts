import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import { generateCity } from '../core/index.js';
import { testNow } from '../test/clock.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { defaultKinds } from '../core/kinds/modules.js';

const MiB = 1024 * 1024;
/** 20 viewer tokens: 200 streams at 10 per token stay within the per-token cap, so the total cap is what bites. */
const TOKENS = Array.from({ length: 20 }, (_, i) => `viewer-token-${String(i).padStart(4, '0')}-abcdef`);

/**
 * Issue 20 item 6 over real HTTP with API tokens on: live streams are capped per token and in total
 * (200 idle clients cost no more than 100 MB of RSS), and access logs carry paths, never query
 * strings.
 */
describe('live stream limits and access logs', () => {
  let pipeline: RunningPipeline;
  let api: string;
  const lines: string[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    pipeline = await startPipeline({
      config: testConfig({
        MQTT_AUTH: 'on',
        API_TOKENS: TOKENS.map((t) => `viewer:${t}`).join(','),
        EVAL_INTERVAL_MS: '500',
        LOG_LEVEL: 'info',
      }),
      logger: pino({ level: 'info' }, sink),
      registry: generateCity(defaultKinds()),
      defaultMetrics: false,
      clock: testNow,
    });
    api = `http://127.0.0.1:${pipeline.httpPort}`;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await pipeline?.close();
  });

  /** An idle stream client: sends the request, reads the status line, then never reads again. Resolves with the status. */
  function idleStream(token: string | undefined, query = ''): Promise<{ status: number; socket: Socket }> {
    return new Promise((resolve, reject) => {
      const socket = connect(pipeline.httpPort, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', reject);
      socket.once('data', (d: Buffer) => {
        socket.pause(); // idle from now on
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'))?.[1] ?? 0), socket });
      });
      socket.on('connect', () =>
        socket.write(`GET /api/v1/stream${query} HTTP/1.1\r\nhost: x\r\n${token ? `authorization: Bearer ${token}\r\n` : ''}\r\n`),
      );
    });
  }

  it('200 idle clients: 100 streams open (the total cap), the rest 503; RSS within 100 MB of before', async () => {
    await waitFor(async () => (await fetch(`${api}/ready`)).status === 200, 30_000, 'the pipeline ready');
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const rssBefore = process.memoryUsage().rss;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => idleStream(TOKENS[i % TOKENS.length])));
    // A few evaluations (KPIs events to every open stream) while they sit idle.
    await sleep(2_000);
    const rssAfter = process.memoryUsage().rss;
    lag.disable();
    const statuses = new Map<number, number>();
    for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    const text = await (await fetch(`${api}/metrics`)).text();
    console.log(
      `200 idle streams: statuses ${JSON.stringify([...statuses])}, RSS ${Math.round(rssBefore / MiB)} -> ${Math.round(rssAfter / MiB)} MB, event-loop delay max ${(lag.max / 1e6).toFixed(0)} ms`,
    );
    expect(statuses.get(200)).toBe(100);
    expect(statuses.get(503)).toBe(100);
    expect(metricValue(text, 'citybrain_stream_clients')).toBe(100);
    expect(metricValue(text, 'citybrain_limit_hits_total', { limit: 'STREAM_MAX_TOTAL' })).toBe(100);
    expect(rssAfter - rssBefore).toBeLessThan(100 * MiB);
    expect((await fetch(`${api}/health`)).status).toBe(200);
    // Closing streams frees their places.
    for (const s of sockets.splice(0)) s.destroy();
    await waitFor(
      async () => metricValue(await (await fetch(`${api}/metrics`)).text(), 'citybrain_stream_clients') === 0,
      10_000,
      'every stream closed',
    );
  }, 60_000);

  it('at most 10 streams per token (429 beyond), other tokens unaffected; no token 401', async () => {
    const mine = await Promise.all(Array.from({ length: 11 }, () => idleStream(TOKENS[0])));
    expect(mine.map((r) => r.status).sort()).toEqual([...Array<number>(10).fill(200), 429]);
    expect((await idleStream(TOKENS[1])).status).toBe(200);
    expect((await idleStream(undefined)).status).toBe(401);
    expect((await idleStream('not-a-token-0000000000')).status).toBe(401);
    mine.find((r) => r.status === 200)!.socket.destroy();
    await waitFor(
      async () => metricValue(await (await fetch(`${api}/metrics`)).text(), 'citybrain_stream_clients') === 10,
      10_000,
      'one stream of the token closed',
    );
    expect((await idleStream(TOKENS[0])).status).toBe(200);
    for (const s of sockets.splice(0)) s.destroy();
  });

  it('access logs carry the path, never the query string', async () => {
    const marker = 'QUERYMARKER7f3a';
    await fetch(`${api}/api/v1/nodes?district=${marker}&limit=1`, { headers: { authorization: `Bearer ${TOKENS[2]}` } });
    const { socket } = await idleStream(TOKENS[2], `?readings=true&district=${marker}`);
    socket.destroy();
    await waitFor(() => lines.join('').includes('/api/v1/stream'), 5_000, 'the stream request logged');
    const log = lines.join('');
    expect(log).toContain('"url":"/api/v1/nodes"');
    // One line per request, with its answer.
    const nodeLines = lines
      .join('')
      .split('\n')
      .filter((l) => l.includes('"url":"/api/v1/nodes"'));
    expect(nodeLines).toHaveLength(1);
    expect(nodeLines[0]).toMatch(/"statusCode":200.*"responseTime":\d+/);
    expect(log).not.toContain(marker);
    for (const t of TOKENS) expect(log).not.toContain(t);
  });
});

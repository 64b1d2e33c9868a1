import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadConfig, type Config } from '../core/index.js';

/**
 * A config for tests: loopback, ephemeral ports, quiet logs, MQTT auth off (these tests publish as
 * anonymous devices; auth tests pass MQTT_AUTH=on), then the test's own overrides.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    MQTT_HOST: '127.0.0.1',
    HTTP_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    MQTT_AUTH: 'off',
    STATE_DIR: freshStateDir(),
    // As for the stage processes (they inherit the environment): the Kafka tests run on the client named here.
    ...(process.env.KAFKA_CLIENT ? { KAFKA_CLIENT: process.env.KAFKA_CLIENT } : {}),
    ...overrides,
  });
}

/** A new empty state directory: embedded pipelines in tests never restore each other's snapshots. */
export function freshStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'city-brain-state-'));
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(50);
  }
}

/** Reads one labelled counter value from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

let gc: (() => void) | undefined;
/** The heap in use after full collections: for the tests of what state keeps alive. */
export function heapUsedAfterGc(): number {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

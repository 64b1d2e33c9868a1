import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import type { NodeRegistry } from '../core/index.js';
import { credentialsToJson, provision } from '../ingest/auth/credentials.js';
import { testNow } from './clock.js';
import { testConfig } from './helpers.js';

export interface AuthPipeline {
  pipeline: RunningPipeline;
  /** Plaintext secret of each provisioned id. */
  secrets: Map<string, string>;
  /** The test's private directory (credentials.json lives here). */
  dir: string;
  mqttUrl: string;
  api: string;
  /** Closes the pipeline and removes the directory. */
  close(): Promise<void>;
}

/**
 * An embedded pipeline with MQTT authentication on, its credentials file provisioned for
 * `principals` in a private directory, on the test clock. `settings` are added to the test config
 * (`dir` is the directory, for settings that name files in it).
 */
export async function authPipeline(
  registry: NodeRegistry,
  principals: { type: 'device' | 'gateway'; id: string }[],
  settings: (dir: string) => Record<string, string> = () => ({}),
  dir = mkdtempSync(join(tmpdir(), 'citybrain-auth-')),
): Promise<AuthPipeline> {
  const { entries, secrets } = await provision(principals);
  writeFileSync(join(dir, 'credentials.json'), credentialsToJson(entries));
  const pipeline = await startPipeline({
    config: testConfig({ MQTT_AUTH: 'on', MQTT_CREDENTIALS: join(dir, 'credentials.json'), ...settings(dir) }),
    registry,
    defaultMetrics: false,
    clock: testNow,
  });
  return {
    pipeline,
    secrets: new Map(secrets.map((s) => [s.id, s.password])),
    dir,
    mqttUrl: `mqtt://127.0.0.1:${pipeline.mqttPort}`,
    api: `http://127.0.0.1:${pipeline.httpPort}`,
    async close() {
      await pipeline.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

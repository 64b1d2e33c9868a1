/** Against a real Alertmanager (Debian's prometheus-alertmanager as a local process; see infra/fixtures/alertmanager.ts). */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alertmanagerFixture, ALERTMANAGER_FIXTURE_TIMEOUT_MS, releaseAlertmanagers } from '../fixtures/alertmanager.js';
import { isAlive, terminate } from '../process.js';
import { alertmanagerService } from './service.js';

afterAll(() => releaseAlertmanagers());

describe('Alertmanager (real server)', () => {
  it(
    'starts with the shipped routing on loopback, clustering off, and stops without leftovers',
    async () => {
      const am = await alertmanagerFixture();
      expect(am.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${am.url}/-/ready`)).status).toBe(200);
      const status = (await (await fetch(`${am.url}/api/v2/status`)).json()) as {
        config: { original: string };
        cluster: { status: string };
        versionInfo: { version: string };
      };
      expect(status.config.original).toContain('CircuitDark');
      expect(status.config.original).toContain('crew-streetlight-lixia');
      expect(status.cluster.status).toBe('disabled');
      expect(status.versionInfo.version).toBe(am.version);
      await am.release();
      expect(isAlive(am.pid)).toBe(false);
      expect(existsSync(am.dataDir)).toBe(false);
    },
    ALERTMANAGER_FIXTURE_TIMEOUT_MS,
  );

  it(
    'fails loudly on an invalid config, with the log tail',
    async () => {
      await expect(alertmanagerFixture({ config: 'route: [not a route\n' })).rejects.toThrow(
        /NO ALERTMANAGER FOR THE TESTS[\s\S]*exited during start-up[\s\S]*last lines/,
      );
    },
    ALERTMANAGER_FIXTURE_TIMEOUT_MS,
  );

  it(
    'infra:up service: a detached server with the shipped routing, ALERTMANAGER_URL, and a command line `down` can match',
    async () => {
      const stateDir = mkdtempSync(join(tmpdir(), 'city-brain-infra-test-'));
      const dataDir = join(stateDir, 'data', 'alertmanager');
      try {
        const started = await alertmanagerService.up({ stateDir, dataDir, logFile: join(stateDir, 'alertmanager.log'), log: () => {} });
        try {
          expect(started.env.ALERTMANAGER_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
          expect((await fetch(`${started.env.ALERTMANAGER_URL}/-/ready`)).status).toBe(200);
          expect(readFileSync(`/proc/${started.pid}/cmdline`, 'utf8')).toContain(started.commandMatch);
        } finally {
          await terminate(started.pid, { group: true });
        }
        expect(isAlive(started.pid)).toBe(false);
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
    ALERTMANAGER_FIXTURE_TIMEOUT_MS,
  );
});

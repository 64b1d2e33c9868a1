import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { freshStateDir } from '../test/helpers.js';
import { spawnStage, type StageProcess } from '../test/stage-process.js';

// The runtime is pinned inside the project (the `node` package in package.json, which installs the
// Node binary from the npm registry); npm scripts put node_modules/.bin first on PATH, so `npm test`
// runs vitest, and the tests their spawned stages, on it even where the system `node` is older.
const pinned = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> })
  .dependencies['node'];

describe('runtime', () => {
  let stage: StageProcess | undefined;
  afterAll(() => {
    stage?.child.kill('SIGKILL');
  });

  it('is pinned to an exact Node 24 release', () => {
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
  });

  it('the tests run on the pinned Node (run them with `npm test`, not with the system node)', () => {
    expect(process.version).toBe(`v${pinned}`);
  });

  it('a spawned city-brain stage runs on it too (nodejs_version_info on /metrics)', async () => {
    stage = await spawnStage('start', { STATE_DIR: freshStateDir(), LOG_LEVEL: 'silent' });
    expect(await stage.metrics()).toContain(`nodejs_version_info{version="v${pinned}"`);
  }, 60_000);
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_REQUIRED, nodeTooOld } from './node-version.js';

describe('the Node the CLI runs on', () => {
  it('refuses an older one in one line that says what to run instead', () => {
    expect(nodeTooOld('20.20.2')).toBe(
      'needs Node 24.11 or later, and this is Node 20.20.2: run it through npm (npm start, npm run demo, npx city-brain ...), which uses the Node the project installs (npm ci)',
    );
    expect(nodeTooOld('24.10.9')).toMatch(/needs Node 24\.11/);
    expect(nodeTooOld('24.11.0')).toBeUndefined();
    expect(nodeTooOld('25.0.0')).toBeUndefined();
    expect(nodeTooOld(process.versions.node)).toBeUndefined();
  });

  it('asks for what package.json engines says', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`^${NODE_REQUIRED.major}.${NODE_REQUIRED.minor}.0`);
  });
});

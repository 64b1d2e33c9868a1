import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lamp } from '../../test/fixtures.js';
import { defaultKinds } from '../kinds/modules.js';
import { planImport } from './edit.js';
import { kindColumns, readCsvImport } from './formats.js';
import { registryToCsv } from './load.js';
import { NodeRegistry } from './registry.js';

const kinds = defaultKinds();

describe('registry import formats', () => {
  it("derives each kind's CSV columns from its attribute schema, as the README lists them", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Managing the registry'), readme.indexOf('## Adding a sensor kind'));
    for (const module of kinds.modules()) {
      const line = section.split('\n').find((l) => l.startsWith(`| \`${module.name}\` |`));
      expect(line, module.name).toBeDefined();
      const listed = [...line!.split('|')[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      expect(listed, module.name).toEqual(kindColumns(module).map((c) => c.name));
    }
  });

  it('reads the registry files of `city-brain registry` (lineYellow, ... columns)', async () => {
    const well = {
      ...{ nodeId: 'W-1', kind: 'groundwater', district: 'Lixia', lat: 36.66, lon: 117.01 },
      ...{ well: 'Baotu Spring', springGroup: 'Baotu', lines: { yellow: 28.15, orange: 28, red: 27.6 } },
    };
    const file = registryToCsv(new NodeRegistry([well, lamp(1)], [], kinds));
    expect(file.split('\n')[0]).toContain('lineYellow');
    const target = new NodeRegistry([], [], kinds);
    const plan = await planImport(target, await readCsvImport(file, kinds), { name: 'test', role: 'admin' }, 0);
    expect(plan.errors).toEqual([]);
    target.apply(plan.changes);
    expect(target.get('W-1')).toEqual(well);
    expect(target.get('SL-1')).toEqual(lamp(1));
  });
});

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultKinds } from '../modules.js';
import { shippedProfilesDir } from '../catalog.js';
import { airquality } from '../../../test/kinds/airquality.js';
import { TANK_PROFILE } from '../../../test/profiles.js';
import { loadProfiles, parseProfile, ProfileError } from './load.js';

/** A small valid profile; each test breaks one thing in it. */
const TANK = TANK_PROFILE;
const builtins = defaultKinds()
  .modules()
  .filter((m) => !m.profile);
const RESERVED = { kinds: builtins.map((m) => m.name), alerts: ['NodeOffline', ...builtins.flatMap((m) => m.alerts)] };

/** The ProfileError that parsing `text` (as `file`) throws. */
function errorOf(text: string, file = 'tank.yaml'): ProfileError {
  try {
    parseProfile(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return e as ProfileError;
  }
  throw new Error('expected a ProfileError');
}

/** The error names the file, the path in it and the reason, on one line. */
function expectError(e: ProfileError, file: string, path: string, reason: RegExp): void {
  expect({ file: e.file, path: e.path }).toEqual({ file, path });
  expect(e.reason).toMatch(reason);
  expect(e.message.startsWith(`${file}: ${path || '(profile)'}: `)).toBe(true);
  expect(e.message).not.toContain('\n');
}

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'profiles-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('profile checks', () => {
  it('accepts the example and the shipped profiles', async () => {
    expect(parseProfile(TANK, 'tank.yaml').simulate.scenarios['pump-fault']!.share).toBe(0.1);
    expect(loadProfiles([shippedProfilesDir(), await dirWith({ 'tank.yaml': TANK })], RESERVED).map((p) => p.kind)).toEqual([
      'manhole',
      'waterlogging',
      'tank',
    ]);
  });

  it('refuses an unknown field type', () => {
    expectError(
      errorOf(TANK.replace('alarm: { type: boolean }', 'alarm: { type: flag }')),
      'tank.yaml',
      'fields.alarm.type',
      /unknown field type "flag" \(one of number, boolean, enum\)/,
    );
  });

  it("refuses a threshold outside the field's range", () => {
    const text = TANK.replace('value: { attribute: highM }', 'value: 12');
    expectError(errorOf(text), 'tank.yaml', 'alerts[0].when.value', /threshold 12 is outside the field's range 0\.\.10/);
  });

  it('refuses an alert on a field the profile does not have', () => {
    const text = TANK.replace('when: { field: levelM, op: gt', 'when: { field: volumeM3, op: gt');
    expectError(errorOf(text), 'tank.yaml', 'alerts[0].when.field', /no field "volumeM3" in fields \(levelM, pump, alarm\)/);
  });

  it('refuses two profiles with one kind name, naming the file that had it first', async () => {
    const dir = await dirWith({
      'a.yaml': TANK,
      'b.json': JSON.stringify({ kind: 'tank', title: 'Tanks again', expectedIntervalS: 60, fields: { levelM: { type: 'number' } } }),
    });
    const e = (() => {
      try {
        loadProfiles([dir], RESERVED);
      } catch (err) {
        return err as ProfileError;
      }
      throw new Error('expected a ProfileError');
    })();
    expectError(
      e,
      join(dir, 'b.json'),
      'kind',
      new RegExp(`tank is already defined by ${join(dir, 'a.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });

  it('refuses a kind named like a built-in kind', async () => {
    const dir = await dirWith({ 'noise.yaml': TANK.replace('kind: tank', 'kind: noise').replace('TankHigh', 'NoiseTankHigh') });
    expect(() => loadProfiles([dir], RESERVED)).toThrow(ProfileError);
    try {
      loadProfiles([dir], RESERVED);
    } catch (e) {
      expectError(e as ProfileError, join(dir, 'noise.yaml'), 'kind', /noise is a built-in kind; choose another name/);
    }
  });

  it('refuses a kind named like a topic, measurement or dashboard of the pipeline (metrics.nodes, metrics.partials, the overview board)', async () => {
    for (const name of ['nodes', 'partials', 'overview']) {
      const dir = await dirWith({ [`${name}.yaml`]: TANK.replace('kind: tank', `kind: ${name}`) });
      let error: unknown;
      try {
        loadProfiles([dir], RESERVED);
      } catch (e) {
        error = e;
      }
      expectError(error as ProfileError, join(dir, `${name}.yaml`), 'kind', new RegExp(`${name} is a name the pipeline uses already`));
    }
  });

  it("refuses a kind named like a built-in kind's KPI section or measurement (streetlight's lighting, a test kind's), whatever the built-in kinds are", async () => {
    for (const name of ['lighting', 'airquality']) {
      const dir = await dirWith({ [`${name}.yaml`]: TANK.replace('kind: tank', `kind: ${name}`) });
      let error: unknown;
      try {
        loadProfiles([dir], {
          ...RESERVED,
          names: [...builtins, airquality].flatMap((m) => [m.section, ...Object.keys(m.influx.measurements)]),
        });
      } catch (e) {
        error = e;
      }
      expectError(error as ProfileError, join(dir, `${name}.yaml`), 'kind', new RegExp(`${name} is a name a built-in kind uses`));
    }
  });

  it('refuses an aggregate named like a field (they share the InfluxDB node rows)', () => {
    expectError(errorOf(TANK.replace('name: meanLevelM', 'name: levelM')), 'tank.yaml', 'aggregates[0].name', /levelM is also a field/);
  });

  describe('the simulate block', () => {
    it('refuses a normal value for a field the profile does not have', () => {
      expectError(
        errorOf(TANK.replace('normal: { levelM: [4, 6],', 'normal: { volumeM3: 3, levelM: [4, 6],')),
        'tank.yaml',
        'simulate.normal.volumeM3',
        /no field "volumeM3" in fields \(levelM, pump, alarm\)/,
      );
    });

    it('refuses a scenario value for a field the profile does not have', () => {
      expectError(
        errorOf(TANK.replace('values: { pump: fault,', 'values: { valve: shut, pump: fault,')),
        'tank.yaml',
        'simulate.scenarios.pump-fault.values.valve',
        /no field "valve"/,
      );
    });

    it('refuses values of the wrong type', () => {
      expectError(
        errorOf(TANK.replace('levelM: [4, 6]', 'levelM: high')),
        'tank.yaml',
        'simulate.normal.levelM',
        /levelM is a number; simulate it with a number or a \[low, high\] range/,
      );
      expectError(
        errorOf(TANK.replace('alarm: false }', 'alarm: 0 }')),
        'tank.yaml',
        'simulate.normal.alarm',
        /alarm is boolean; simulate it with true or false/,
      );
      expectError(
        errorOf(TANK.replace('pump: idle', 'pump: true')),
        'tank.yaml',
        'simulate.normal.pump',
        /true is not one of pump's values \(idle, running, fault\)/,
      );
    });

    it('refuses an enum value the field does not have', () => {
      expectError(
        errorOf(TANK.replace('pump: fault', 'pump: broken')),
        'tank.yaml',
        'simulate.scenarios.pump-fault.values.pump',
        /"broken" is not one of pump's values \(idle, running, fault\)/,
      );
    });

    it("refuses numbers outside the field's min/max, and ranges the wrong way round", () => {
      expectError(
        errorOf(TANK.replace('levelM: [9.5, 10]', 'levelM: [9.5, 11]')),
        'tank.yaml',
        'simulate.scenarios.pump-fault.values.levelM',
        /11 is outside the field's range 0\.\.10/,
      );
      expectError(
        errorOf(TANK.replace('levelM: [4, 6]', 'levelM: -1')),
        'tank.yaml',
        'simulate.normal.levelM',
        /-1 is outside the field's range 0\.\.10/,
      );
      expectError(
        errorOf(TANK.replace('levelM: [4, 6]', 'levelM: [6, 4]')),
        'tank.yaml',
        'simulate.normal.levelM',
        /range \[6, 4\]: low is above high/,
      );
    });
  });
});

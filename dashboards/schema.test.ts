/**
 * Every generated dashboard decoded strictly by Grafana's own Go models (dashboards/schema-check on
 * grafana-foundation-sdk v0.0.22): no Grafana server can run here, so this is what stands in for
 * Grafana loading the files. Go must be installed (it builds InfluxDB for the suite too); the
 * checker is built once and cached under ~/.cache/city-brain.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileDashboard } from './boards/profile.js';
import { renderProvisioning } from './provisioning.js';
import { runSchemaCheck, schemaCheckBinary } from './schema.js';
import { defaultKinds } from '../core/kinds/modules.js';

let binary = '';
const dir = mkdtempSync(join(tmpdir(), 'citybrain-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  // Fails loudly (naming Go and what it is for) when go is not on PATH: no skipping.
  binary = await schemaCheckBinary((line) => process.stderr.write(`schema-check: ${line}\n`));
}, 300_000);

/** The overview board as written by `npm run dashboards`, as a mutable object. */
function overview(): {
  uid: string;
  panels: Array<Record<string, unknown> & { title: string; fieldConfig: { defaults: Record<string, unknown> } }>;
} {
  return JSON.parse(renderProvisioning().get('dashboards/city-brain/citybrain-overview.json')!);
}

describe("dashboards against Grafana's schema (grafana-foundation-sdk Go models, strict)", () => {
  it("every file `npm run dashboards` writes decodes strictly and validates, the profile kinds' boards included", () => {
    const files: string[] = [];
    for (const [path, text] of renderProvisioning()) {
      if (!path.endsWith('.json')) continue;
      const file = join(dir, path.split('/').pop()!);
      writeFileSync(file, text);
      files.push(file);
    }
    expect(files.map((f) => f.split('/').pop())).toEqual(
      expect.arrayContaining([
        'citybrain-waterlogging.json',
        'citybrain-manhole.json',
        'citybrain-lighting.json',
        'citybrain-parking.json',
      ]),
    );
    const r = runSchemaCheck(binary, { files });
    expect(r.problems).toEqual([]);
    expect(r.code, r.output).toBe(0);
  });

  it('a profile kind with an enum field gets a board that passes too', () => {
    const manhole = defaultKinds().get('manhole')!.profile!;
    const board = profileDashboard({
      ...manhole,
      kind: 'valve',
      title: 'Valves',
      fields: { state: { type: 'enum', values: ['open', 'shut', 'stuck'], required: true } },
      aggregates: [],
      alerts: [],
    });
    const r = runSchemaCheck(binary, { stdin: JSON.stringify(board) });
    expect(r.problems).toEqual([]);
    expect(r.code, r.output).toBe(0);
  });

  it("catches misspelt fields: a unit in fieldConfig.defaults, a panel's gridPos, a dashboard key", () => {
    const board = overview();
    const [first, second] = [board.panels[0]!, board.panels[1]!];
    first.fieldConfig.defaults.unitt = 'percentunit';
    second.gridPoss = second.gridPos;
    delete second.gridPos;
    const r = runSchemaCheck(binary, { stdin: JSON.stringify({ ...board, refreshh: '30s' }) });
    expect(r.code).toBe(1);
    expect(r.problems).toEqual([
      { uid: 'citybrain-overview', panel: '-', path: 'Dashboard', reason: "unexpected field 'refreshh'" },
      { uid: 'citybrain-overview', panel: first.title, path: 'fieldConfig.defaults.FieldConfig', reason: "unexpected field 'unitt'" },
      { uid: 'citybrain-overview', panel: second.title, path: 'Panel', reason: "unexpected field 'gridPoss'" },
    ]);
    // What a reader of the test log sees, once.
    console.log(`schema-check on a misspelt overview board (exit ${r.code}):\n${r.output}`);
  });

  it("catches a wrong type in a panel type's options (the plugins are registered): a geomap centred on decimal degrees", () => {
    const lighting = JSON.parse(renderProvisioning().get('dashboards/city-brain/citybrain-lighting.json')!) as {
      panels: Array<{ type: string; title: string; options: { view: Record<string, unknown> } }>;
    };
    const map = lighting.panels.find((p) => p.type === 'geomap')!;
    // What the boards had before: Grafana's schema says integer for view.lat / view.lon.
    map.options.view = { id: 'coords', lat: 36.65, lon: 117.12, zoom: 10 };
    const r = runSchemaCheck(binary, { stdin: JSON.stringify(lighting) });
    expect(r.code).toBe(1);
    expect(r.problems.map((p) => [p.panel, p.path])).toEqual([
      [map.title, 'options.view.lat'],
      [map.title, 'options.view.lon'],
    ]);
    expect(r.problems[0]!.reason).toMatch(/cannot unmarshal number 36\.65 .*int64/);
  });
});

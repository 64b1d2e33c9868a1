import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DATASOURCES } from './common.js';
import { parseDashboardsArgs, runDashboards, writeProvisioning } from './cli.js';
import { allDashboards, datasources, renderProvisioning } from './provisioning.js';
import { pushToGrafana, type GrafanaSend } from './push.js';
import { defaultKinds, kindCatalog } from '../core/kinds/modules.js';
import { loadConfig } from '../core/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

interface Target {
  refId?: string;
  datasource?: { uid?: string; type?: string };
  query?: string;
  expr?: string;
}
interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  repeat?: string;
}

describe('npm run dashboards: the provisioning tree', () => {
  it('is byte-identical when generated twice, and holds the expected files', () => {
    const a = mkdtempSync(join(tmpdir(), 'citybrain-prov-a-'));
    const b = mkdtempSync(join(tmpdir(), 'citybrain-prov-b-'));
    dirs.push(a, b);
    writeProvisioning(a);
    // A stale dashboard from an earlier run is removed; other files in the tree are left alone.
    mkdirSync(join(b, 'dashboards', 'city-brain'), { recursive: true });
    writeFileSync(join(b, 'dashboards', 'city-brain', 'old.json'), '{}');
    writeProvisioning(b);
    writeProvisioning(b);
    const ta = tree(a);
    const tb = tree(b);
    expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
    for (const [path, bytes] of ta) expect(tb.get(path)!.equals(bytes), path).toBe(true);
    expect([...ta.keys()].sort()).toEqual(
      [
        'alerting/city-brain.yaml',
        'dashboards/city-brain.yaml',
        // The profile kinds' generated dashboards beside the built-in ones.
        ...['lighting', 'nodes', 'noise', 'overview', 'parking', 'pipeline', 'groundwater', 'waterlogging', 'manhole'].map(
          (n) => `dashboards/city-brain/citybrain-${n}.json`,
        ),
        'datasources/city-brain.yaml',
      ].sort(),
    );
    expect(renderProvisioning()).toEqual(renderProvisioning());
  });

  it('YAML files read back as the intended objects (datasources with fixed uids, Alertmanager implementation prometheus)', () => {
    const files = renderProvisioning({ influxUrl: 'http://10.0.0.5:8086', influxUser: 'grafana' });
    const ds = parseYaml(files.get('datasources/city-brain.yaml')!) as { apiVersion: number; datasources: Array<Record<string, unknown>> };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toEqual(
      datasources({ influxUrl: 'http://10.0.0.5:8086', influxUser: 'grafana' }).map((d) => ({ orgId: 1, ...d })),
    );
    expect(ds.datasources.map((d) => d.uid)).toEqual(Object.values(DATASOURCES).map((d) => d.uid));
    expect(ds.datasources[0]).toMatchObject({
      type: 'influxdb',
      url: 'http://10.0.0.5:8086',
      user: 'grafana',
      secureJsonData: { password: '$CITYBRAIN_INFLUX_PASSWORD' },
      jsonData: { version: 'InfluxQL', dbName: 'citybrain' },
    });
    expect(ds.datasources[2]).toMatchObject({ type: 'alertmanager', jsonData: { implementation: 'prometheus' } });
    const provider = parseYaml(files.get('dashboards/city-brain.yaml')!) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: '/etc/grafana/provisioning/dashboards/city-brain' } });
    const alerting = parseYaml(files.get('alerting/city-brain.yaml')!) as {
      contactPoints: Array<{ receivers: Array<{ type: string; settings: { url: string } }> }>;
      policies: Array<{ receiver: string }>;
      groups: Array<{ rules: Array<{ data: Array<{ model: { expr?: string } }> }> }>;
    };
    expect(alerting.contactPoints[0]!.receivers[0]).toMatchObject({
      type: 'prometheus-alertmanager',
      settings: { url: 'http://alertmanager:9093' },
    });
    expect(alerting.policies[0]!.receiver).toBe('City Brain Alertmanager');
    expect(alerting.groups[0]!.rules[0]!.data[0]!.model.expr).toBe('up{job="city-brain"}');
    // Grafana expands $VAR in provisioning files: no `$` except the password reference.
    for (const [path, text] of files)
      if (path.endsWith('.yaml')) expect(text.replace('$CITYBRAIN_INFLUX_PASSWORD', ''), path).not.toContain('$');
  });

  it('every dashboard JSON type-checks against the SDK Dashboard type (enums as their JSON values)', () => {
    // The JSON files are checked as data literals against the SDK's types by the TypeScript compiler.
    const cache = resolve('node_modules/.cache/city-brain-dashboard-types');
    mkdirSync(cache, { recursive: true });
    const files = renderProvisioning();
    const source = [
      "import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';",
      '// The wire form of a type: string enums as their values, no methods.',
      'type Wire<T> = T extends (...args: never[]) => unknown ? never : T extends string ? `${T}` : T extends number | boolean | null | undefined ? T : T extends readonly (infer E)[] ? Wire<E>[] : { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: Wire<T[K]> };',
      ...[...files]
        .filter(([p]) => p.endsWith('.json'))
        .map(([p, text], i) => `// ${p}\nexport const d${i}: Wire<dashboard.Dashboard> = ${text.trim()};`),
    ].join('\n');
    const file = join(cache, 'dashboards-check.ts');
    writeFileSync(file, source);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
      types: [],
    });
    const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n').slice(0, 400));
    expect(errors).toEqual([]);
  }, 60_000);

  it('every panel has a unique id, fits the 24-column grid, and queries a provisioned datasource with unique refIds; every variable it uses exists', () => {
    const uids = new Set<string>(Object.values(DATASOURCES).map((d) => d.uid));
    for (const d of allDashboards()) {
      const json = JSON.parse(JSON.stringify(d)) as { uid: string; panels: PanelJson[]; templating: { list?: Array<{ name: string }> } };
      const variables = new Set((json.templating.list ?? []).map((v) => v.name));
      const ids = json.panels.map((p) => p.id);
      expect(new Set(ids).size, d.uid).toBe(ids.length);
      for (const p of json.panels) {
        const where = `${d.uid} / ${p.title}`;
        expect(p.gridPos!.x + p.gridPos!.w, where).toBeLessThanOrEqual(24);
        expect(p.targets?.length, where).toBeGreaterThan(0);
        const refIds = p.targets!.map((t) => t.refId);
        expect(new Set(refIds).size, where).toBe(refIds.length);
        if (p.repeat) expect(variables.has(p.repeat), where).toBe(true);
        for (const t of p.targets!) {
          expect(uids.has(t.datasource!.uid!), where).toBe(true);
          const text = t.query ?? t.expr ?? '';
          for (const [, name] of text.matchAll(/\$(\w+)/g)) {
            if (['timeFilter', '__interval', '__rate_interval', 'tag_name', 'tag_well', 'tag_node', 'tag_station', 'col'].includes(name!))
              continue;
            expect(variables.has(name!), `${where}: $${name} is not a variable`).toBe(true);
          }
        }
      }
    }
  });
});

describe('dashboards and the metrics topics', () => {
  it("opens every dashboard on a time range of at least METRICS_REFRESH_S: a panel of each lot's, station's or well's latest value finds every one", () => {
    // The metrics topics write an unchanged entry only every METRICS_REFRESH_S (metrics-publisher.ts): its points are that sparse.
    const refreshS = loadConfig({}).METRICS_REFRESH_S;
    const seconds = { m: 60, h: 3600, d: 86_400 } as const;
    for (const board of allDashboards()) {
      const from = /^now-(\d+)([mhd])$/.exec(board.time?.from ?? '');
      expect(from, `${board.title}: time.from ${board.time?.from}`).not.toBeNull();
      expect(Number(from![1]) * seconds[from![2] as keyof typeof seconds], board.title).toBeGreaterThanOrEqual(refreshS);
    }
  });
});

describe('profile kinds: one generated dashboard each', () => {
  const kinds = defaultKinds();
  const board = (kind: string) => {
    const file = renderProvisioning({ kinds }).get(`dashboards/city-brain/citybrain-${kind}.json`);
    expect(file, kind).toBeDefined();
    return JSON.parse(file!) as {
      uid: string;
      title: string;
      tags: string[];
      panels: Array<PanelJson & { fieldConfig?: { defaults?: { unit?: string } } }>;
      annotations: { list: Array<{ target?: { tags?: string[] } }> };
    };
  };
  const queries = (b: ReturnType<typeof board>) => b.panels.flatMap((p) => (p.targets ?? []).map((t) => t.query ?? ''));

  it.each([
    [
      'waterlogging',
      'Road waterlogging',
      { meanDepthM: 'lengthm', maxDepthM: 'lengthm', pointsOver15cm: 'none', pointsOverClosure: 'none', secondsOver15cm: 's' },
      ['depthM (m): readings', 'rainMmPerH (mm/h): readings'],
      'RoadWaterlogging',
    ],
    [
      'manhole',
      'Manhole covers',
      { coversOpen: 'none', maxTiltDeg: 'degree', minWaterBelowM: 'lengthm', secondsOpen: 's' },
      ['open: readings', 'tiltDeg (deg): readings', 'waterBelowM (m): readings'],
      'ManholeCoverOpen',
    ],
  ] as const)(
    '%s: uid and title from the profile, a stat per aggregate with its unit, readings per field, nodes over a threshold, alerts, online nodes',
    (kind, title, units, readings, alert) => {
      const b = board(kind);
      expect(b.uid).toBe(`citybrain-${kind}`);
      expect(b.title).toBe(`City Brain: ${title}`);
      expect(b.tags).toEqual(['city-brain', kind, 'profile-kind']);
      expect(b.annotations.list.some((a) => a.target?.tags?.join() === `city-brain,${kind}`)).toBe(true);
      for (const [name, unit] of Object.entries(units)) {
        const stat = b.panels.find((p) => p.type === 'stat' && p.title === name);
        expect(stat?.fieldConfig?.defaults?.unit, name).toBe(unit);
        expect(stat!.targets![0]!.query).toBe(`SELECT last("${name}") AS "${name}" FROM "${kind}" WHERE "scope" = 'city' AND $timeFilter`);
        expect(
          b.panels.some((p) => p.title === `${name} by district`),
          name,
        ).toBe(true);
      }
      expect(b.panels.filter((p) => p.title?.endsWith(': readings')).map((p) => p.title)).toEqual(readings);
      const q = queries(b);
      expect(q.some((x) => x.includes(`FROM "${kind}_node"`) && x.includes('GROUP BY "node", "district"'))).toBe(true);
      expect(q.some((x) => x.includes(`FROM "${kind}_reading"`))).toBe(true);
      expect(q.some((x) => x.includes('FROM "alerts"') && x.includes(`"kind" = '${kind}'`))).toBe(true);
      expect(q.some((x) => x.includes('FROM "nodes"') && x.includes(`"scope" = 'kind' AND "name" = '${kind}'`))).toBe(true);
      expect(b.panels.some((p) => p.title === `Alerts (${alert})`)).toBe(true);
    },
  );

  it('npm run dashboards -- --kind-profiles DIR (else KIND_PROFILES) adds a dashboard for each profile there', async () => {
    const profiles = mkdtempSync(join(tmpdir(), 'citybrain-profiles-'));
    const out = mkdtempSync(join(tmpdir(), 'citybrain-prov-k-'));
    dirs.push(profiles, out);
    const manhole = readFileSync(resolve('core/kinds/profiles/manhole.yaml'), 'utf8');
    writeFileSync(
      join(profiles, 'hatch.yaml'),
      manhole
        .replace('kind: manhole', 'kind: hatch')
        .replace('title: Manhole covers', 'title: Hatches')
        .replaceAll('ManholeCoverOpen', 'HatchOpen'),
    );
    expect(parseDashboardsArgs(['--kind-profiles', profiles]).kindProfiles).toBe(profiles);
    const write = process.stdout.write;
    process.stdout.write = () => true;
    try {
      await runDashboards(['--out', out], { KIND_PROFILES: profiles });
    } finally {
      process.stdout.write = write;
    }
    const hatch = JSON.parse(readFileSync(join(out, 'dashboards/city-brain/citybrain-hatch.json'), 'utf8')) as { title: string };
    expect(hatch.title).toBe('City Brain: Hatches');
    expect(tree(out).has('dashboards/city-brain/citybrain-manhole.json')).toBe(true);
  });

  it('follows the catalog: no profile kinds, no profile dashboards; a kind whose uid is taken is refused', () => {
    const builtin = [...renderProvisioning({ kinds: kindCatalog() }).keys()].filter((k) => k.endsWith('.json'));
    expect(builtin).toHaveLength(7);
    const manhole = kinds.get('manhole')!.profile!;
    expect(() => allDashboards(kindCatalog([{ ...manhole, kind: 'overview' }]))).toThrow(/two dashboards with uid citybrain-overview/);
  });
});

describe('npm run dashboards -- --push (request bodies; not run against a real Grafana here)', () => {
  it('upserts folders, datasources, every dashboard, the contact point, the policy and the rule group', async () => {
    const sent: Array<{ method: string; path: string; body?: unknown }> = [];
    // Grafana's answers for an empty instance: nothing exists yet, every write accepted.
    const send: GrafanaSend = async (method, path, body) => {
      sent.push({ method, path, body });
      if (method === 'GET')
        return {
          status: path.includes('contact-points') ? 200 : 404,
          body: path.includes('contact-points') ? [] : { message: 'not found' },
        };
      return { status: 200, body: {} };
    };
    const result = await pushToGrafana(send);
    expect(result.dashboards).toEqual(allDashboards().map((d) => d.uid));
    const writes = sent.filter((s) => s.method !== 'GET');
    expect(writes.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /api/folders',
      'POST /api/folders',
      'POST /api/datasources',
      'POST /api/datasources',
      'POST /api/datasources',
      ...allDashboards().map(() => 'POST /api/dashboards/db'),
      'POST /api/v1/provisioning/contact-points',
      'PUT /api/v1/provisioning/policies',
      'PUT /api/v1/provisioning/folder/city-brain-alerts/rule-groups/city-brain-pipeline',
    ]);
    const files = renderProvisioning();
    const firstBoard = writes.find((s) => s.path === '/api/dashboards/db')!.body as {
      dashboard: Record<string, unknown>;
      folderUid: string;
      overwrite: boolean;
    };
    expect(firstBoard).toMatchObject({ folderUid: 'city-brain', overwrite: true });
    // The pushed dashboard is the provisioned file, with id null (Grafana assigns its own).
    expect(JSON.parse(JSON.stringify(firstBoard.dashboard))).toEqual({
      ...JSON.parse(files.get('dashboards/city-brain/citybrain-overview.json')!),
      id: null,
    });
    expect(writes[2]!.body).toEqual(datasources()[0]);
    const rules = writes.at(-1)!.body as { rules: Array<{ folderUID: string; ruleGroup: string; condition: string }> };
    expect(rules.rules[0]).toMatchObject({ folderUID: 'city-brain-alerts', ruleGroup: 'city-brain-pipeline', condition: 'B' });
  });

  it('updates what exists (datasources by uid, the contact point) and stops on the first refusal, naming it', async () => {
    const sent: string[] = [];
    const send: GrafanaSend = async (method, path) => {
      sent.push(`${method} ${path}`);
      if (method === 'GET') return { status: 200, body: path.includes('contact-points') ? [{ uid: 'citybrain-alertmanager-cp' }] : {} };
      if (path === '/api/dashboards/db') return { status: 403, body: { message: 'Access denied' } };
      return { status: 200, body: {} };
    };
    await expect(pushToGrafana(send)).rejects.toThrow(/Grafana refused dashboard citybrain-overview: HTTP 403 .*Access denied/);
    expect(sent.filter((s) => !s.startsWith('GET'))).toEqual([
      'PUT /api/datasources/uid/citybrain-influxdb',
      'PUT /api/datasources/uid/citybrain-prometheus',
      'PUT /api/datasources/uid/citybrain-alertmanager',
      'POST /api/dashboards/db',
    ]);
  });
});

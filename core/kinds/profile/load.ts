import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { conditionsOf, profileSchema, type KindProfile, type ProfileCondition, type ProfileField, type SimulatedValue } from './schema.js';
import { ProfileError } from '../../errors.js';

/** A profile that cannot be used: names the file, the path in it and the reason (one line). */
export { ProfileError };

/** Registry columns every node has and reading fields every kind has: a profile cannot redefine them. */
const NODE_COLUMNS = new Set(['nodeId', 'kind', 'district', 'lat', 'lon', 'expectedIntervalS', 'gatewayId']);
const COMMON_FIELDS = new Set(['ts', 'seq', 'battery', 'rssi']);
/** Keys of a profile kind's KPI section besides its aggregates. */
export const PROFILE_SECTION_KEYS = ['title', 'nodes', 'reporting', 'byDistrict', 'list'] as const;

const PROFILE_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Names a kind's own topic (`metrics.<kind>`), KPI section, InfluxDB measurements and dashboard
 * uid would share with the pipeline's: log topics (metrics.partials, metrics.nodes), KPI sections
 * and measurements (nodes, alerts, pipeline), dashboards (overview, maps). The built-in kinds' own
 * names (their KPI sections and measurements, e.g. `lighting`) come with `reserved.names`.
 */
const TAKEN_NAMES = ['partials', 'nodes', 'alerts', 'pipeline', 'overview', 'maps', 'state', 'telemetry', 'registry', 'audit'];

function zodPath(issue: z.core.$ZodIssue): string {
  return issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** Parses and checks one profile's text; `file` is only for messages. */
export function parseProfile(text: string, file: string): KindProfile {
  let doc: unknown;
  try {
    doc = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ProfileError(
      file,
      '',
      `not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`,
    );
  }
  const result = profileSchema.safeParse(doc);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ProfileError(file, zodPath(issue), issue.message);
  }
  checkProfile(result.data, file);
  return result.data;
}

function rangeOf(field: { min?: number; max?: number }): string {
  return `${field.min ?? '-inf'}..${field.max ?? '+inf'}`;
}

/** What a schema cannot say: names that must exist, comparisons that fit the field, thresholds in range. */
function checkProfile(p: KindProfile, file: string): void {
  // A declaration (not an arrow) so the compiler knows nothing runs after it and narrows what it guards.
  function fail(path: string, reason: string): never {
    throw new ProfileError(file, path, reason);
  }
  const fieldNames = Object.keys(p.fields);
  for (const [name, field] of Object.entries(p.fields)) {
    if (COMMON_FIELDS.has(name)) fail(`fields.${name}`, `${name} is a field every reading has; choose another name`);
    if (field.type === 'number' && field.min !== undefined && field.max !== undefined && field.min > field.max)
      fail(`fields.${name}`, `min ${field.min} is above max ${field.max}`);
  }
  for (const [name, attr] of Object.entries(p.attributes)) {
    if (NODE_COLUMNS.has(name)) fail(`attributes.${name}`, `${name} is a column every node has; choose another name`);
    if (attr.type === 'number' && attr.min !== undefined && attr.max !== undefined && attr.min > attr.max)
      fail(`attributes.${name}`, `min ${attr.min} is above max ${attr.max}`);
    if (
      attr.type === 'number' &&
      attr.default !== undefined &&
      ((attr.min !== undefined && attr.default < attr.min) || (attr.max !== undefined && attr.default > attr.max))
    ) {
      fail(`attributes.${name}.default`, `default ${attr.default} is outside the attribute's range ${rangeOf(attr)}`);
    }
    if (attr.type === 'enum' && attr.default !== undefined && !attr.values.includes(attr.default))
      fail(`attributes.${name}.default`, `default ${attr.default} is not one of ${attr.values.join(', ')}`);
  }

  const checkCondition = (c: ProfileCondition, path: string): void => {
    const field = p.fields[c.field];
    if (!field) fail(`${path}.field`, `no field ${JSON.stringify(c.field)} in fields (${fieldNames.join(', ')})`);
    checkThreshold(field, c, path);
  };
  const checkThreshold = (field: ProfileField, c: ProfileCondition, path: string): void => {
    const v = c.value;
    if (typeof v === 'object') {
      const attr = p.attributes[v.attribute];
      if (!attr)
        fail(
          `${path}.value.attribute`,
          `no attribute ${JSON.stringify(v.attribute)} in attributes (${Object.keys(p.attributes).join(', ') || 'none'})`,
        );
      if (attr.type !== field.type)
        fail(`${path}.value.attribute`, `attribute ${v.attribute} is ${attr.type}, field ${c.field} is ${field.type}`);
      if (!attr.required && attr.default === undefined)
        fail(
          `${path}.value.attribute`,
          `attribute ${v.attribute} is neither required nor has a default, so some nodes would have no threshold`,
        );
      if (field.type === 'number' && attr.type === 'number' && attr.default !== undefined && !inRange(attr.default, field)) {
        fail(`${path}.value.attribute`, `default ${attr.default} of ${v.attribute} is outside the field's range ${rangeOf(field)}`);
      }
      return;
    }
    if (field.type === 'number') {
      if (typeof v !== 'number') fail(`${path}.value`, `field ${c.field} is a number; compare it with a number`);
      if (!inRange(v, field)) fail(`${path}.value`, `threshold ${v} is outside the field's range ${rangeOf(field)}`);
      return;
    }
    if (c.op !== 'eq' && c.op !== 'ne') fail(`${path}.op`, `field ${c.field} is ${field.type}: only eq and ne compare it`);
    if (field.type === 'boolean' && typeof v !== 'boolean')
      fail(`${path}.value`, `field ${c.field} is boolean; compare it with true or false`);
    if (field.type === 'enum' && (typeof v !== 'string' || !field.values.includes(v)))
      fail(`${path}.value`, `${JSON.stringify(v)} is not one of ${c.field}'s values (${field.values.join(', ')})`);
  };
  const checkWhen = (w: Parameters<typeof conditionsOf>[0], path: string): void => {
    const list = conditionsOf(w);
    const prefix = 'any' in w ? `${path}.any` : 'all' in w ? `${path}.all` : path;
    list.forEach((c, i) => checkCondition(c, list.length === 1 && prefix === path ? path : `${prefix}[${i}]`));
  };

  const names = new Set<string>(PROFILE_SECTION_KEYS);
  p.aggregates.forEach((a, i) => {
    const path = `aggregates[${i}]`;
    if (names.has(a.name)) fail(`${path}.name`, `${a.name} is taken (${[...names].join(', ')})`);
    // The InfluxDB node rows carry aggregates and fields side by side.
    if (Object.hasOwn(p.fields, a.name)) fail(`${path}.name`, `${a.name} is also a field; name the aggregate differently`);
    names.add(a.name);
    if (a.op === 'mean' || a.op === 'min' || a.op === 'max') {
      const field = p.fields[a.field];
      if (!field) fail(`${path}.field`, `no field ${JSON.stringify(a.field)} in fields (${fieldNames.join(', ')})`);
      if (field.type !== 'number') fail(`${path}.field`, `${a.op} needs a number field; ${a.field} is ${field.type}`);
    } else if ('when' in a) checkWhen(a.when, `${path}.when`);
  });
  const placeholders = new Set(['nodeId', 'district', 'kind', 'value', ...Object.keys(p.attributes)]);
  const rules = new Set<string>();
  p.alerts.forEach((rule, i) => {
    const path = `alerts[${i}]`;
    const key = `${rule.alert}/${rule.severity}`;
    if (rules.has(key)) fail(`${path}`, `a second ${rule.severity} rule for ${rule.alert}`);
    rules.add(key);
    checkWhen(rule.when, `${path}.when`);
    if (rule.clear) checkWhen(rule.clear, `${path}.clear`);
    for (const m of rule.summary.matchAll(/\{([^}]*)\}/g)) {
      if (!placeholders.has(m[1]!))
        fail(`${path}.summary`, `unknown placeholder {${m[1]}} (${[...placeholders].map((x) => `{${x}}`).join(', ')})`);
    }
  });

  // What the simulator reports must be a reading the kind accepts: each value names a field and fits it.
  const checkSimulated = (name: string, v: SimulatedValue, path: string): void => {
    const field = p.fields[name];
    if (!field) fail(path, `no field ${JSON.stringify(name)} in fields (${fieldNames.join(', ')})`);
    if (field.type === 'number') {
      const values = Array.isArray(v) ? v : [v];
      if (values.some((x) => typeof x !== 'number'))
        fail(path, `field ${name} is a number; simulate it with a number or a [low, high] range`);
      if (Array.isArray(v) && v[0] > v[1]) fail(path, `range [${v[0]}, ${v[1]}]: low is above high`);
      for (const x of values as number[]) if (!inRange(x, field)) fail(path, `${x} is outside the field's range ${rangeOf(field)}`);
    } else if (field.type === 'boolean') {
      if (typeof v !== 'boolean') fail(path, `field ${name} is boolean; simulate it with true or false`);
    } else if (typeof v !== 'string' || !field.values.includes(v))
      fail(path, `${JSON.stringify(v)} is not one of ${name}'s values (${field.values.join(', ')})`);
  };
  for (const [name, v] of Object.entries(p.simulate.normal)) checkSimulated(name, v, `simulate.normal.${name}`);
  for (const [scenario, sc] of Object.entries(p.simulate.scenarios)) {
    for (const [name, v] of Object.entries(sc.values)) checkSimulated(name, v, `simulate.scenarios.${scenario}.values.${name}`);
  }
}

function inRange(v: number, field: { min?: number; max?: number }): boolean {
  return (field.min === undefined || v >= field.min) && (field.max === undefined || v <= field.max);
}

/**
 * Every profile in `dirs` (files ending .yaml, .yml or .json, in name order), checked one by one
 * and against each other and the built-in kinds and alerts. Synchronous: it runs once at start-up.
 */
export function loadProfiles(
  dirs: readonly string[],
  reserved: { kinds: readonly string[]; alerts: readonly string[]; names?: readonly string[] },
): KindProfile[] {
  const profiles: KindProfile[] = [];
  const seen = new Map<string, string>();
  const alertKinds = new Map<string, string>();
  for (const dir of dirs) {
    let files: string[];
    try {
      files = readdirSync(dir)
        .filter((f) => PROFILE_EXTENSIONS.has(extname(f).toLowerCase()))
        .sort();
    } catch (e) {
      throw new ProfileError(
        dir,
        '',
        `cannot read the profile directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); set KIND_PROFILES to a directory of .yaml or .json profiles`,
      );
    }
    for (const f of files) {
      const file = join(dir, f);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new ProfileError(file, '', `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const profile = parseProfile(text, file);
      if (reserved.kinds.includes(profile.kind))
        throw new ProfileError(file, 'kind', `${profile.kind} is a built-in kind; choose another name`);
      if (reserved.names?.includes(profile.kind))
        throw new ProfileError(
          file,
          'kind',
          `${profile.kind} is a name a built-in kind uses (its KPI section or an InfluxDB measurement); choose another name`,
        );
      if (TAKEN_NAMES.includes(profile.kind))
        throw new ProfileError(
          file,
          'kind',
          `${profile.kind} is a name the pipeline uses already (${TAKEN_NAMES.join(', ')}); choose another name`,
        );
      const other = seen.get(profile.kind);
      if (other) throw new ProfileError(file, 'kind', `${profile.kind} is already defined by ${other}`);
      seen.set(profile.kind, file);
      profile.alerts.forEach((rule, i) => {
        if (reserved.alerts.includes(rule.alert))
          throw new ProfileError(file, `alerts[${i}].alert`, `${rule.alert} is a built-in alert; choose another name`);
        const owner = alertKinds.get(rule.alert);
        if (owner && owner !== profile.kind)
          throw new ProfileError(file, `alerts[${i}].alert`, `${rule.alert} is already an alert of kind ${owner}`);
        alertKinds.set(rule.alert, profile.kind);
      });
      profiles.push(profile);
    }
  }
  return profiles;
}

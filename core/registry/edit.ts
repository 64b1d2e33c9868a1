import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { gatewaySchema, type Actor, type RegistryChange, type RegistryEntity, type RegistryGateway } from './change.js';
import { DISTRICTS } from './districts.js';
import type { ImportRow } from './formats.js';
import { parseNode, type RegistryNode } from './node.js';
import type { NodeRegistry } from './registry.js';
import { roadSchema, type RoadDesign } from './roads.js';

/** Rows judged between two turns of the event loop: an import of 500,000 rows must not stop /health or the readings. */
const YIELD_EVERY = 2_000;
const breather = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Why one row (or one request) cannot be applied: where it was, what it is, and the reason. */
export interface RowError {
  row: number;
  entity: RegistryEntity;
  id?: string;
  reason: string;
}

export interface ImportPlan {
  changes: RegistryChange[];
  errors: RowError[];
  created: number;
  updated: number;
  /** Rows equal to what the registry has: no change is written for them (an export imported again changes nothing). */
  unchanged: number;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(row)'}: ${i.message}`)
    .join('; ');
}

/** Equal as data, whatever the order of keys. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Districts a node may name: the default city's and every one the registry's nodes name (a city of its own brings its own). */
export function knownDistricts(registry: NodeRegistry): Set<string> {
  const set = new Set<string>(DISTRICTS.map((d) => d.name));
  for (const node of registry.all()) set.add(node.district);
  for (const node of registry.decommissionedNodes()) set.add(node.district);
  return set;
}

/**
 * Turns rows (an import, or one API request) into change records against the registry as it
 * is: a row whose id exists updates it (the row is its whole new state), else creates it. Every
 * row is judged: its kind's attributes, a known district, an id given once in the import, a
 * gateway's nodes existing (in the registry or in the import). Rows equal to the registry's
 * entity are left out. Errors name the row; the caller decides whether the valid rows go ahead
 * (`partial`) or nothing does.
 */
export async function planImport(registry: NodeRegistry, rows: readonly ImportRow[], by: Actor, at: number): Promise<ImportPlan> {
  const plan: ImportPlan = { changes: [], errors: [], created: 0, updated: 0, unchanged: 0 };
  const districts = knownDistricts(registry);
  const batch = randomUUID();
  let n = 0;
  const seen = new Map<string, number>();
  const nodes = new Map<string, { row: ImportRow; node: RegistryNode }>();
  const fail = (row: ImportRow, reason: string, id?: string) =>
    plan.errors.push({ row: row.row, entity: row.entity, ...(id ? { id } : {}), reason });
  /** Ids once per entity: a second row with the same id is an error of that row. */
  const once = (row: ImportRow, id: string): boolean => {
    const key = `${row.entity}/${id}`;
    const first = seen.get(key);
    if (first !== undefined) {
      fail(row, `duplicate id ${id} in this import (first at row ${first})`, id);
      return false;
    }
    seen.set(key, row.row);
    return true;
  };
  const emit = (entity: RegistryEntity, id: string, value: object, before: object | undefined) => {
    if (before && sameValue(before, value)) return void plan.unchanged++;
    if (before) plan.updated++;
    else plan.created++;
    plan.changes.push({
      changeId: `${batch}-${n++}`,
      at,
      op: before ? 'update' : 'create',
      entity,
      id,
      value: value as Record<string, unknown>,
      by,
    });
  };

  let judged = 0;
  for (const row of rows.filter((r) => r.entity === 'node')) {
    if (++judged % YIELD_EVERY === 0) await breather();
    if (row.error) {
      fail(row, row.error);
      continue;
    }
    const parsed = parseNode(row.value, registry.kinds);
    const id = typeof row.value.nodeId === 'string' ? row.value.nodeId : undefined;
    if (!parsed.success) fail(row, describe(parsed.error), id);
    else if (!districts.has(parsed.data.district))
      fail(row, `unknown district ${parsed.data.district} (one of ${[...districts].sort().join(', ')})`, id);
    else if (once(row, parsed.data.nodeId)) nodes.set(parsed.data.nodeId, { row, node: parsed.data });
  }
  // A gateway's node list is written as its nodes' gatewayId (see gatewaySchema).
  const gateways: { row: ImportRow; gateway: RegistryGateway }[] = [];
  for (const row of rows.filter((r) => r.entity === 'gateway')) {
    const parsed = gatewaySchema.safeParse(row.value);
    const id = typeof row.value.gatewayId === 'string' ? row.value.gatewayId : undefined;
    if (row.error) fail(row, row.error);
    else if (!parsed.success) fail(row, describe(parsed.error), id);
    else if (parsed.data.district !== undefined && !districts.has(parsed.data.district))
      fail(row, `unknown district ${parsed.data.district}`, id);
    else if (row.nodes !== undefined && (!Array.isArray(row.nodes) || row.nodes.some((x) => typeof x !== 'string')))
      fail(row, 'nodes: expected a list of node ids', id);
    else {
      const missing = (row.nodes ?? []).filter((nodeId) => !registry.has(nodeId) && !nodes.has(nodeId));
      if (missing.length > 0)
        fail(row, `gateway ${parsed.data.gatewayId} lists node(s) that do not exist: ${missing.slice(0, 5).join(', ')}`, id);
      else if (once(row, parsed.data.gatewayId)) gateways.push({ row, gateway: parsed.data });
    }
  }
  const behind = new Map<string, string>();
  for (const { gateway, row } of gateways) for (const nodeId of row.nodes ?? []) behind.set(nodeId, gateway.gatewayId);
  for (const [nodeId, gatewayId] of behind)
    if (!nodes.has(nodeId))
      nodes.set(nodeId, { row: { row: 0, entity: 'node', value: {} }, node: { ...registry.get(nodeId)!, gatewayId } });
  for (const [id, { node }] of nodes) {
    const gatewayId = behind.get(id);
    emit('node', id, gatewayId ? { ...node, gatewayId } : node, registry.get(id));
  }
  for (const { gateway } of gateways) emit('gateway', gateway.gatewayId, gateway, registry.gateway(gateway.gatewayId));
  for (const row of rows.filter((r) => r.entity === 'road')) {
    const parsed = roadSchema.safeParse(row.value);
    if (row.error) fail(row, row.error);
    else if (!parsed.success) fail(row, describe(parsed.error), typeof row.value.road === 'string' ? row.value.road : undefined);
    else if (once(row, parsed.data.road))
      emit(
        'road',
        parsed.data.road,
        parsed.data,
        registry.declaredRoads().find((r: RoadDesign) => r.road === parsed.data.road),
      );
  }
  plan.errors.sort((a, b) => a.row - b.row);
  return plan;
}

/** A decommission record of a node or gateway in service; undefined when there is none with that id. */
export function decommissionChange(
  registry: NodeRegistry,
  entity: 'node' | 'gateway',
  id: string,
  by: Actor,
  at: number,
): RegistryChange | undefined {
  const current = entity === 'node' ? registry.get(id) : registry.gateway(id);
  if (!current) return undefined;
  return { changeId: randomUUID(), at, op: 'decommission', entity, id, value: current, by };
}

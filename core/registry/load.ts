import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import type { KindCatalog } from '../kinds/index.js';
import { parseNode, type RegistryNode } from './node.js';
import { NodeRegistry } from './registry.js';
import { roadSchema, type RoadDesign } from './roads.js';
import { RegistryError } from '../errors.js';

export { RegistryError };

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(node)'}: ${i.message}`).join('; ');
}

/** Validates raw node objects; every bad entry is reported with where it came from. */
export function parseNodes(raw: unknown[], source: string, firstLine: number | number[], kinds: KindCatalog): RegistryNode[] {
  const nodes: RegistryNode[] = [];
  const errors: string[] = [];
  raw.forEach((entry, i) => {
    const result = parseNode(entry, kinds);
    if (result.success) nodes.push(result.data);
    else errors.push(`${source}:${Array.isArray(firstLine) ? firstLine[i] : i + firstLine}: ${describe(result.error)}`);
  });
  if (errors.length > 0) {
    const shown = errors.slice(0, 10).join('\n');
    const more = errors.length > 10 ? `\n... and ${errors.length - 10} more` : '';
    throw new RegistryError(`registry has ${errors.length} invalid node(s):\n${shown}${more}`);
  }
  return nodes;
}

/** Validates the lighting design's roads (designed lamp positions per road). */
export function parseRoads(raw: unknown[], source: string, lines: number[]): RoadDesign[] {
  const roads: RoadDesign[] = [];
  const errors: string[] = [];
  raw.forEach((entry, i) => {
    const result = roadSchema.safeParse(entry);
    if (result.success) roads.push(result.data);
    else errors.push(`${source}:${lines[i]}: road: ${describe(result.error)}`);
  });
  if (errors.length > 0) throw new RegistryError(`registry has ${errors.length} invalid road(s):\n${errors.slice(0, 10).join('\n')}`);
  return roads;
}

const numeric = new Set([
  'lat',
  'lon',
  'ratedW',
  'spaces',
  'expectedIntervalS',
  'lineYellow',
  'lineOrange',
  'lineRed',
  'designedPositions',
]);

/** One CSV row per node; empty cells are absent attributes, warning lines are lineYellow/lineOrange/lineRed columns. */
export function csvRowToNode(row: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, cell] of Object.entries(row)) {
    const value = cell.trim();
    if (value === '') continue;
    out[key] = numeric.has(key) && value !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
  }
  if ('lineYellow' in out || 'lineOrange' in out || 'lineRed' in out) {
    out.lines = { yellow: out.lineYellow, orange: out.lineOrange, red: out.lineRed };
    delete out.lineYellow;
    delete out.lineOrange;
    delete out.lineRed;
  }
  return out;
}

/**
 * JSON: an array of nodes, or `{ "nodes": [...], "roads": [...] }`. CSV: one row per node, and
 * rows of kind `road` (columns road, roadClass, district, designedPositions) for the lighting
 * design. Files without roads still load: each road's designed positions are then its lamps.
 */
export function parseRegistryText(text: string, format: 'json' | 'csv', source: string, kinds: KindCatalog): NodeRegistry {
  if (format === 'json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new RegistryError(`${source}: not valid JSON (${(e as Error).message})`);
    }
    const list = Array.isArray(doc) ? doc : (doc as { nodes?: unknown })?.nodes;
    if (!Array.isArray(list)) throw new RegistryError(`${source}: expected an array of nodes or { "nodes": [...] }`);
    const roads = Array.isArray(doc) ? [] : ((doc as { roads?: unknown }).roads ?? []);
    if (!Array.isArray(roads)) throw new RegistryError(`${source}: "roads" must be an array`);
    return build(
      parseNodes(list, source, 0, kinds),
      parseRoads(
        roads,
        source,
        roads.map((_, i) => i),
      ),
      source,
      kinds,
    );
  }
  let rows: Record<string, string>[];
  try {
    rows = parseCsv<Record<string, string>>(text, { columns: true, skip_empty_lines: true, trim: true });
  } catch (e) {
    throw new RegistryError(`${source}: not valid CSV (${(e as Error).message})`);
  }
  // Line numbers in errors count the header as line 1.
  const nodeRows: Record<string, unknown>[] = [];
  const roadRows: Record<string, unknown>[] = [];
  const roadLines: number[] = [];
  const nodeLines: number[] = [];
  rows.forEach((row, i) => {
    const values = csvRowToNode(row);
    if (values.kind === 'road') {
      delete values.kind;
      roadRows.push(values);
      roadLines.push(i + 2);
    } else {
      nodeRows.push(values);
      nodeLines.push(i + 2);
    }
  });
  const nodes = parseNodes(nodeRows, source, nodeLines, kinds);
  return build(nodes, parseRoads(roadRows, source, roadLines), source, kinds);
}

function build(nodes: RegistryNode[], roads: RoadDesign[], source: string, kinds: KindCatalog): NodeRegistry {
  try {
    return new NodeRegistry(nodes, roads, kinds);
  } catch (e) {
    throw new RegistryError(`${source}: ${(e as Error).message}`);
  }
}

export async function loadRegistryFile(path: string, kinds: KindCatalog): Promise<NodeRegistry> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.csv') throw new RegistryError(`${path}: registry must be a .json or .csv file`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new RegistryError(`${path}: cannot read registry (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseRegistryText(text, ext === '.json' ? 'json' : 'csv', path, kinds);
}

export function registryToJson(registry: NodeRegistry): string {
  const roads = registry.declaredRoads();
  return JSON.stringify(roads.length > 0 ? { nodes: [...registry.all()], roads } : { nodes: [...registry.all()] });
}

const LEADING_COLUMNS = ['nodeId', 'kind', 'district', 'lat', 'lon'];

/** RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled. */
function csvCell(value: unknown): string {
  const text =
    value === undefined || value === null
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : `${value as string | number | boolean}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The CSV that `parseRegistryText` reads back: one row per node (warning lines as lineYellow,
 * lineOrange, lineRed), then one row of kind `road` per road of the lighting design; columns are
 * the union of every row's attributes, empty where a row has none.
 */
export function registryToCsv(registry: NodeRegistry): string {
  const rows: Record<string, unknown>[] = [];
  for (const node of registry.all()) {
    const { lines, ...rest } = node as RegistryNode & { lines?: { yellow: number; orange: number; red: number } };
    rows.push(lines ? { ...rest, lineYellow: lines.yellow, lineOrange: lines.orange, lineRed: lines.red } : rest);
  }
  for (const road of registry.declaredRoads()) rows.push({ kind: 'road', ...road });
  const columns = new Set(LEADING_COLUMNS);
  for (const row of rows) for (const key of Object.keys(row)) columns.add(key);
  const header = [...columns];
  return `${[header.join(','), ...rows.map((row) => header.map((c) => csvCell(row[c])).join(','))].join('\n')}\n`;
}

/** The registry in the format a file's extension names (.json or .csv), as `loadRegistryFile` reads it. */
export function registryToFile(registry: NodeRegistry, path: string): string {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return registryToJson(registry);
  if (ext === '.csv') return registryToCsv(registry);
  throw new RegistryError(`${path}: a registry file must end in .json or .csv`);
}

import { Readable } from 'node:stream';
import { parse as parseCsv, type Options as CsvOptions } from 'csv-parse';
import { z } from 'zod';
import type { AnyKindModule, KindCatalog } from '../kinds/index.js';
import type { RegistryGateway } from './change.js';
import type { NodeRegistry } from './registry.js';

/**
 * The registry's import and export formats (the API's `/api/v1/registry/import|export`): JSON
 * `{ nodes, gateways, roads }` and CSV, one row per node, gateway (`kind` gateway) or road of the
 * lighting design (`kind` road). The CSV columns are derived from the kinds' attribute schemas:
 * nothing here names a kind's attribute, so a new kind or profile brings its columns.
 */

export type CellType = 'string' | 'number' | 'boolean' | 'list';

/** One CSV column: its header, where its value sits in the entity (`lines.yellow`: nested) and how a cell is read. */
export interface CsvColumn {
  name: string;
  path: string[];
  type: CellType;
}

const column = (name: string, type: CellType): CsvColumn => ({ name, path: name.split('.'), type });

/** Every node's columns, whatever its kind. */
export const NODE_COLUMNS: CsvColumn[] = [
  column('nodeId', 'string'),
  column('kind', 'string'),
  column('district', 'string'),
  column('lat', 'number'),
  column('lon', 'number'),
  column('expectedIntervalS', 'number'),
  column('gatewayId', 'string'),
];
/** A gateway row (`kind` gateway): its id in `gatewayId`, the nodes behind it `;`-separated in `nodes` (import only: export puts `gatewayId` on each node). */
export const GATEWAY_COLUMNS: CsvColumn[] = [column('name', 'string'), column('nodes', 'list')];
/** A road row (`kind` road): the lighting design. */
export const ROAD_COLUMNS: CsvColumn[] = [column('road', 'string'), column('roadClass', 'string'), column('designedPositions', 'number')];

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema> };

function cellType(schema: JsonSchema): CellType {
  if (schema.type === 'number' || schema.type === 'integer') return 'number';
  if (schema.type === 'boolean') return 'boolean';
  return 'string';
}

/** A kind's own columns, from its attribute schema: one per attribute, `name.sub` for each field of an object attribute. */
export function kindColumns(module: AnyKindModule): CsvColumn[] {
  const { properties = {} } = z.toJSONSchema(module.attrs, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  return Object.entries(properties).flatMap(([name, schema]) =>
    schema.type === 'object' && schema.properties
      ? Object.entries(schema.properties).map(([sub, s]) => column(`${name}.${sub}`, cellType(s)))
      : [column(name, cellType(schema))],
  );
}

/** The header of an export: node columns, each kind's (a name shared by kinds once), then the gateway and road columns. */
export function csvColumns(kinds: KindCatalog): CsvColumn[] {
  const out = new Map<string, CsvColumn>();
  for (const c of [...NODE_COLUMNS, ...kinds.modules().flatMap(kindColumns), ...GATEWAY_COLUMNS, ...ROAD_COLUMNS])
    if (!out.has(c.name)) out.set(c.name, c);
  return [...out.values()];
}

/** One row of an import: the entity it describes, its values, and where it was (CSV line, or position in its JSON list from 1). */
export interface ImportRow {
  row: number;
  entity: 'node' | 'gateway' | 'road';
  value: Record<string, unknown>;
  /** A gateway row's nodes. */
  nodes?: string[];
  /** Why the row could not be read at all (a malformed CSV row). */
  error?: string;
}

/** Legacy columns of registry files (`city-brain registry --out x.csv`): lineYellow for lines.yellow. */
const LEGACY: Record<string, string> = { lineYellow: 'lines.yellow', lineOrange: 'lines.orange', lineRed: 'lines.red' };

function readCell(text: string, type: CellType): unknown {
  if (type === 'number') return Number.isNaN(Number(text)) ? text : Number(text);
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  if (type === 'list')
    return text
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean);
  return text;
}

/**
 * Reads a CSV import: the header names the columns (any of `csvColumns`, or a legacy one); each
 * row becomes a node, gateway or road by its `kind`. A row with more or fewer cells than the
 * header is an error of that row, not of the file. Throws (with the line) only when the text is
 * not CSV at all (an unclosed quote).
 */
type ParsedRow = { record: string[]; info: { lines: number } };

export async function readCsvImport(text: string, kinds: KindCatalog): Promise<ImportRow[]> {
  const known = new Map(csvColumns(kinds).map((c) => [c.name, c]));
  // Parsed as a stream of 64 KiB slices: the event loop turns between them (a 500,000-row import is 50 MB).
  const slices = function* () {
    for (let i = 0; i < text.length; i += 65_536) yield text.slice(i, i + 65_536);
  };
  // The line of each record from the parser's context (its `info` option builds an object per record).
  const onRecord = (record: string[], context: { lines: number }): ParsedRow => ({ record, info: { lines: context.lines } });
  const options: CsvOptions = {
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    on_record: onRecord as unknown as CsvOptions['on_record'],
  };
  const parser = Readable.from(slices()).pipe(parseCsv(options));
  let header: CsvColumn[] | undefined;
  let kindAt = -1;
  const rows: ImportRow[] = [];
  for await (const { record, info } of parser as AsyncIterable<ParsedRow>) {
    if (!header) {
      header = record.map((name) => known.get(LEGACY[name] ?? name) ?? column(LEGACY[name] ?? name, 'string'));
      kindAt = header.findIndex((c) => c.name === 'kind');
      continue;
    }
    rows.push(csvRow(record, info.lines, header, kindAt));
  }
  return rows;
}

/** One CSV row as the entity it describes (see readCsvImport). */
function csvRow(record: string[], row: number, header: CsvColumn[], kindAt: number): ImportRow {
  if (record.length !== header.length)
    return { row, entity: 'node', value: {}, error: `malformed row: ${record.length} cells, the header has ${header.length}` };
  const kind = record[kindAt];
  const entity = kind === 'gateway' ? 'gateway' : kind === 'road' ? 'road' : 'node';
  const value: Record<string, unknown> = {};
  let nodes: string[] | undefined;
  record.forEach((cell, i) => {
    const c = header[i]!;
    if (cell === '' || (entity !== 'node' && c.name === 'kind')) return;
    if (c.name === 'nodes') return void (nodes = readCell(cell, 'list') as string[]);
    let at = value;
    for (const key of c.path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    at[c.path[c.path.length - 1]!] = readCell(cell, c.type);
  });
  return { row, entity, value, ...(nodes ? { nodes } : {}) };
}

const listOf = (doc: unknown, key: string): unknown[] => {
  const list = (doc as Record<string, unknown>)[key] ?? [];
  if (!Array.isArray(list)) throw new Error(`"${key}" must be an array`);
  return list;
};

/** Reads a JSON import: an array of nodes, or `{ nodes, gateways, roads }` (a gateway may list its `nodes`). Throws when the shape is wrong. */
export function readJsonImport(doc: unknown): ImportRow[] {
  if (Array.isArray(doc)) doc = { nodes: doc };
  if (typeof doc !== 'object' || doc === null)
    throw new Error('expected an array of nodes or { "nodes": [...], "gateways": [...], "roads": [...] }');
  const object = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v });
  return [
    ...listOf(doc, 'nodes').map((v, i): ImportRow => ({ row: i + 1, entity: 'node', value: object(v) })),
    ...listOf(doc, 'gateways').map((v, i): ImportRow => {
      const { nodes, ...value } = object(v);
      return { row: i + 1, entity: 'gateway', value, ...(nodes !== undefined ? { nodes: nodes as string[] } : {}) };
    }),
    ...listOf(doc, 'roads').map((v, i): ImportRow => ({ row: i + 1, entity: 'road', value: object(v) })),
  ];
}

/** The registry in service as JSON: what `readJsonImport` reads back. */
export function exportJson(registry: NodeRegistry): { nodes: unknown[]; gateways: RegistryGateway[]; roads: unknown[] } {
  return { nodes: [...registry.all()], gateways: [...registry.gateways()], roads: registry.declaredRoads() };
}

/** RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled. */
function csvCell(value: unknown): string {
  const text =
    value === undefined || value === null
      ? ''
      : typeof value === 'string'
        ? value
        : typeof value === 'number' || typeof value === 'boolean'
          ? String(value)
          : Array.isArray(value)
            ? value.join(';')
            : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The registry in service as CSV (header from `csvColumns`): what `readCsvImport` reads back. */
export function* exportCsv(registry: NodeRegistry): Generator<string> {
  const columns = csvColumns(registry.kinds);
  const row = (values: Record<string, unknown>) =>
    `${columns
      .map((c) => {
        let v: unknown = values;
        for (const key of c.path) v = (v as Record<string, unknown> | undefined)?.[key];
        return csvCell(v);
      })
      .join(',')}\n`;
  yield `${columns.map((c) => c.name).join(',')}\n`;
  for (const node of registry.all()) yield row(node);
  for (const gateway of registry.gateways()) yield row({ ...gateway, kind: 'gateway' });
  for (const road of registry.declaredRoads()) yield row({ ...road, kind: 'road' });
}

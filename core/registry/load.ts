import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { nodeSchema, type RegistryNode } from './node.js';
import { NodeRegistry } from './registry.js';

export class RegistryError extends Error {
  override name = 'RegistryError';
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(node)'}: ${i.message}`).join('; ');
}

/** Validates raw node objects; every bad entry is reported with where it came from. */
export function parseNodes(raw: unknown[], source: string, firstLine = 1): RegistryNode[] {
  const nodes: RegistryNode[] = [];
  const errors: string[] = [];
  raw.forEach((entry, i) => {
    const result = nodeSchema.safeParse(entry);
    if (result.success) nodes.push(result.data);
    else errors.push(`${source}:${i + firstLine}: ${describe(result.error)}`);
  });
  if (errors.length > 0) {
    const shown = errors.slice(0, 10).join('\n');
    const more = errors.length > 10 ? `\n... and ${errors.length - 10} more` : '';
    throw new RegistryError(`registry has ${errors.length} invalid node(s):\n${shown}${more}`);
  }
  return nodes;
}

const numeric = new Set(['lat', 'lon', 'ratedW', 'spaces', 'expectedIntervalS', 'lineYellow', 'lineOrange', 'lineRed']);

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

export function parseRegistryText(text: string, format: 'json' | 'csv', source: string): NodeRegistry {
  let raw: unknown[];
  if (format === 'json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new RegistryError(`${source}: not valid JSON (${(e as Error).message})`);
    }
    const list = Array.isArray(doc) ? doc : (doc as { nodes?: unknown })?.nodes;
    if (!Array.isArray(list)) throw new RegistryError(`${source}: expected an array of nodes or { "nodes": [...] }`);
    raw = list;
    return build(parseNodes(raw, source, 0), source);
  }
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (e) {
    throw new RegistryError(`${source}: not valid CSV (${(e as Error).message})`);
  }
  // Line numbers in errors count the header as line 1.
  return build(parseNodes(rows.map(csvRowToNode), source, 2), source);
}

function build(nodes: RegistryNode[], source: string): NodeRegistry {
  try {
    return new NodeRegistry(nodes);
  } catch (e) {
    throw new RegistryError(`${source}: ${(e as Error).message}`);
  }
}

export async function loadRegistryFile(path: string): Promise<NodeRegistry> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.csv') throw new RegistryError(`${path}: registry must be a .json or .csv file`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new RegistryError(`${path}: cannot read registry (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseRegistryText(text, ext === '.json' ? 'json' : 'csv', path);
}

export function registryToJson(registry: NodeRegistry): string {
  return JSON.stringify({ nodes: [...registry.all()] });
}

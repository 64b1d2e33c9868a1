/**
 * Grafana's own schema over our dashboards: no Grafana server runs where the tests do, so each
 * dashboard is decoded strictly by Grafana's published Go models (dashboards/schema-check, a Go
 * program on github.com/grafana/grafana-foundation-sdk/go v0.0.22, built once and cached by
 * infra/go-build.ts). An unknown field or a wrong type anywhere is a problem.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGoProgram } from '../infra/go-build.js';

export interface SchemaProblem {
  uid: string;
  /** The panel's title, or `-` for the dashboard itself. */
  panel: string;
  /** Where in the dashboard or panel, e.g. `fieldConfig.defaults.FieldConfig` or `options.view.lat`. */
  path: string;
  reason: string;
}

/** dashboards/schema-check, from the source tree (vitest) or from dist/dashboards (compiled). */
export function schemaCheckDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'schema-check'), join(here, '..', '..', 'dashboards', 'schema-check')]) {
    if (existsSync(join(dir, 'go.mod'))) return dir;
  }
  throw new Error(`dashboards/schema-check not found from ${here}`);
}

/** The schema-check binary, built on first use (about 45 s cold on 2 cores) and cached. */
export async function schemaCheckBinary(log?: (line: string) => void): Promise<string> {
  const needed = 'Go 1.22+ for the Grafana schema check of the dashboards (dashboards/schema-check)';
  return (await ensureGoProgram(schemaCheckDir(), { name: 'schema-check', needed, ...(log ? { log } : {}) })).binary;
}

/**
 * Runs the check over dashboard files, or over `stdin` (a dashboard object or an array of them)
 * when no file is given. `code` 0: all decode and validate; 1: `problems` lists each.
 */
export function runSchemaCheck(
  binary: string,
  input: { files?: string[]; stdin?: string },
): { code: number | null; problems: SchemaProblem[]; output: string } {
  const r = spawnSync(binary, input.files ?? [], { input: input.stdin ?? '', encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  const problems = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line): SchemaProblem => {
      // uid | panel title (may itself hold " | ") | path | reason
      const parts = line.split(' | ');
      return { uid: parts[0]!, panel: parts.slice(1, -2).join(' | '), path: parts.at(-2)!, reason: parts.at(-1)! };
    });
  return { code: r.status, problems, output: `${r.stdout}${r.stderr}` };
}

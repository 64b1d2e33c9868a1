/**
 * `npm run dashboards [-- --out DIR] [--push] [--influx-url URL] [--influx-database DB] [--influx-user U]
 *  [--prometheus-url URL] [--alertmanager-url URL] [--dashboards-path PATH] [--kind-profiles DIR]`
 *
 * Writes the Grafana provisioning tree (default `grafana/provisioning/`); with `--push` also sends it to
 * GRAFANA_URL (GRAFANA_TOKEN as bearer token). Datasource URLs are as Grafana reaches them (defaults:
 * the compose services in infra/compose/grafana.yml). Profile kinds get a dashboard each: the shipped
 * ones and those in --kind-profiles, else KIND_PROFILES (the directory the pipeline reads).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { renderProvisioning, type ProvisioningOptions } from './provisioning.js';
import { grafanaClient, pushToGrafana } from './push.js';
import { loadKinds } from '../core/kinds/modules.js';

export const DEFAULT_OUT = 'grafana/provisioning';

export const DASHBOARDS_USAGE = `usage: npm run dashboards -- [--out DIR] [--push] [--influx-url URL] [--influx-database DB] [--influx-user USER]
       [--prometheus-url URL] [--alertmanager-url URL] [--dashboards-path PATH] [--kind-profiles DIR]
  --out DIR            where the provisioning tree goes (default ${DEFAULT_OUT}); its city-brain files are replaced
  --push               also send datasources, dashboards and alerting to GRAFANA_URL (bearer GRAFANA_TOKEN)
  --influx-url ...     datasource URLs as Grafana reaches them (defaults: the compose services)
  --dashboards-path    where Grafana reads the dashboard JSON files (default: inside /etc/grafana/provisioning)
  --kind-profiles DIR  profile kinds besides the shipped ones, one dashboard each (default: $KIND_PROFILES)`;

export interface DashboardsArgs {
  out: string;
  push: boolean;
  help: boolean;
  /** A directory of kind profiles (--kind-profiles); KIND_PROFILES when absent. */
  kindProfiles?: string;
  options: ProvisioningOptions;
}

export function parseDashboardsArgs(argv: string[]): DashboardsArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      push: { type: 'boolean' },
      'influx-url': { type: 'string' },
      'influx-database': { type: 'string' },
      'influx-user': { type: 'string' },
      'prometheus-url': { type: 'string' },
      'alertmanager-url': { type: 'string' },
      'dashboards-path': { type: 'string' },
      'kind-profiles': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const options: ProvisioningOptions = {};
  if (values['influx-url']) options.influxUrl = values['influx-url'];
  if (values['influx-database']) options.influxDatabase = values['influx-database'];
  if (values['influx-user']) options.influxUser = values['influx-user'];
  if (values['prometheus-url']) options.prometheusUrl = values['prometheus-url'];
  if (values['alertmanager-url']) options.alertmanagerUrl = values['alertmanager-url'];
  if (values['dashboards-path']) options.dashboardsPath = values['dashboards-path'];
  return {
    out: values.out ?? DEFAULT_OUT,
    push: values.push ?? false,
    help: values.help ?? false,
    ...(values['kind-profiles'] ? { kindProfiles: values['kind-profiles'] } : {}),
    options,
  };
}

/** Writes the tree under `out` (the generated city-brain dashboard folder is replaced, so removed dashboards go). */
export function writeProvisioning(out: string, options: ProvisioningOptions = {}): string[] {
  const root = resolve(out);
  rmSync(join(root, 'dashboards', 'city-brain'), { recursive: true, force: true });
  const written: string[] = [];
  for (const [path, text] of renderProvisioning(options)) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push(file);
  }
  return written;
}

export async function runDashboards(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const args = parseDashboardsArgs(argv);
  if (args.help) {
    process.stdout.write(`${DASHBOARDS_USAGE}\n`);
    return;
  }
  // The same kinds as the pipeline: the shipped profiles and the KIND_PROFILES directory (a bad profile throws ProfileError).
  const dir = args.kindProfiles ?? (env.KIND_PROFILES?.trim() || undefined);
  args.options.kinds = loadKinds(dir ? [dir] : []);
  const written = writeProvisioning(args.out, args.options);
  process.stdout.write(`wrote ${written.length} files under ${resolve(args.out)}\n`);
  if (!args.push) return;
  const url = env.GRAFANA_URL?.trim();
  if (!url) throw new Error('--push needs GRAFANA_URL (and GRAFANA_TOKEN, a service-account token)');
  const result = await pushToGrafana(grafanaClient(url, env.GRAFANA_TOKEN?.trim() || undefined), args.options);
  process.stdout.write(
    `pushed to ${url}: ${result.datasources.length} datasources, ${result.dashboards.length} dashboards, ${result.alerting.join(', ')}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runDashboards(process.argv.slice(2)).catch((error: unknown) => {
    const usage = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? `\n${DASHBOARDS_USAGE}` : '';
    process.stderr.write(`${(error as Error).message}${usage}\n`);
    process.exitCode = 2;
  });
}

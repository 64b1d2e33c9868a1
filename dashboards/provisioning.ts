/**
 * The Grafana provisioning tree, as files (path -> text): what `npm run dashboards` writes and what
 * `--push` sends over Grafana's HTTP API. Deterministic: the same options give byte-identical files.
 *
 *   dashboards/city-brain.yaml         dashboard provider (file type, folder "City Brain")
 *   dashboards/city-brain/<uid>.json   one file per dashboard (the SDK's dashboard.Dashboard), one per
 *                                      profile kind too (`citybrain-<kind>.json`, generated from its profile)
 *   datasources/city-brain.yaml        InfluxDB (InfluxQL), Prometheus, Alertmanager (implementation prometheus)
 *   alerting/city-brain.yaml           contact point (the Alertmanager), notification policy, pipeline rule
 *
 * Mount the tree as /etc/grafana/provisioning (the provider's path points into it), or pass
 * `dashboardsPath` when the JSON files live elsewhere.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { KindCatalog } from '../core/kinds/index.js';
import { DATASOURCES, FOLDER } from './common.js';
import { nodesDashboard } from './boards/nodes.js';
import { overviewDashboard } from './boards/overview.js';
import { pipelineDashboard } from './boards/pipeline.js';
import { stringify } from 'yaml';
import { defaultKinds } from '../core/kinds/modules.js';
import { withDefaults } from '../core/defaults.js';

export interface ProvisioningOptions {
  /** InfluxDB as Grafana reaches it; default `http://influxdb:8086` (the compose service). */
  influxUrl?: string;
  /** The 1.x database (the part of INFLUX_BUCKET before `/`); default `citybrain`. */
  influxDatabase?: string;
  /** InfluxDB user, when it runs with auth; the password is read by Grafana from $CITYBRAIN_INFLUX_PASSWORD. */
  influxUser?: string;
  /** Default `http://prometheus:9090`. */
  prometheusUrl?: string;
  /** Default `http://alertmanager:9093`. */
  alertmanagerUrl?: string;
  /** Where Grafana finds the dashboard JSON files; default `/etc/grafana/provisioning/dashboards/city-brain`. */
  dashboardsPath?: string;
  /** Prometheus job that scrapes the pipeline (the pipeline-down rule); default `city-brain`. */
  prometheusJob?: string;
  /** The kinds that get a dashboard each; default the built-in kinds and the shipped profiles. */
  kinds?: KindCatalog;
}

export const DEFAULTS: Required<Omit<ProvisioningOptions, 'influxUser' | 'kinds'>> = {
  influxUrl: 'http://influxdb:8086',
  influxDatabase: 'citybrain',
  prometheusUrl: 'http://prometheus:9090',
  alertmanagerUrl: 'http://alertmanager:9093',
  dashboardsPath: '/etc/grafana/provisioning/dashboards/city-brain',
  prometheusJob: 'city-brain',
};

/**
 * Every dashboard, in menu order: the overview, one per kind of `kinds` (its module's), then node
 * health and the pipeline. Throws when a kind's dashboard would take another's uid (a profile kind
 * called `overview`, `nodes`, ...), since one file would overwrite the other.
 */
export function allDashboards(kinds: KindCatalog = defaultKinds()): dashboard.Dashboard[] {
  const boards = [overviewDashboard(), ...kinds.modules().map((m) => m.dashboard()), nodesDashboard(), pipelineDashboard()];
  const seen = new Set<string>();
  for (const b of boards) {
    if (seen.has(b.uid!)) throw new Error(`two dashboards with uid ${b.uid}: rename the profile kind`);
    seen.add(b.uid!);
  }
  return boards;
}

export const CONTACT_POINT = { name: 'City Brain Alertmanager', uid: 'citybrain-alertmanager-cp' } as const;
export const ALERT_FOLDER = { uid: 'city-brain-alerts', title: 'City Brain alerts' } as const;
export const RULE_GROUP = 'city-brain-pipeline';

/** The datasources (Grafana's datasource model, as provisioning files and the HTTP API share it). */
export function datasources(o: ProvisioningOptions = {}): Array<Record<string, unknown>> {
  const influxUser = o.influxUser;
  const { influxUrl, influxDatabase, prometheusUrl, alertmanagerUrl } = withDefaults(DEFAULTS, o);
  return [
    {
      name: DATASOURCES.influxdb.name,
      uid: DATASOURCES.influxdb.uid,
      type: DATASOURCES.influxdb.type,
      access: 'proxy',
      url: influxUrl,
      isDefault: true,
      database: influxDatabase,
      ...(influxUser ? { user: influxUser, secureJsonData: { password: '$CITYBRAIN_INFLUX_PASSWORD' } } : {}),
      jsonData: { version: 'InfluxQL', dbName: influxDatabase, httpMode: 'GET', timeInterval: '1s' },
      editable: false,
    },
    {
      name: DATASOURCES.prometheus.name,
      uid: DATASOURCES.prometheus.uid,
      type: DATASOURCES.prometheus.type,
      access: 'proxy',
      url: prometheusUrl,
      jsonData: { httpMethod: 'POST', timeInterval: '15s' },
      editable: false,
    },
    {
      name: DATASOURCES.alertmanager.name,
      uid: DATASOURCES.alertmanager.uid,
      type: DATASOURCES.alertmanager.type,
      access: 'proxy',
      url: alertmanagerUrl,
      // The crews' Alertmanager shown in Grafana's alerting view; Grafana's own alerts reach it
      // through the contact point below, not through this datasource.
      jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
      editable: false,
    },
  ];
}

/** Grafana's contact point for the crews' Alertmanager (type `prometheus-alertmanager`). */
export function contactPoint(o: ProvisioningOptions = {}): Record<string, unknown> {
  return {
    uid: CONTACT_POINT.uid,
    name: CONTACT_POINT.name,
    type: 'prometheus-alertmanager',
    settings: { url: withDefaults(DEFAULTS, o).alertmanagerUrl },
    disableResolveMessage: false,
  };
}

/** Root notification policy: Grafana-managed alerts go to the Alertmanager too, where crews are routed. */
export function notificationPolicy(): Record<string, unknown> {
  return {
    receiver: CONTACT_POINT.name,
    group_by: ['grafana_folder', 'alertname'],
    group_wait: '30s',
    group_interval: '5m',
    repeat_interval: '4h',
  };
}

/**
 * One Grafana-managed rule: the pipeline itself is down (Prometheus cannot scrape it). The city's
 * own alerts are evaluated by the pipeline and reach Alertmanager directly; this one covers the
 * case where the pipeline is not there to raise anything.
 */
export function pipelineRule(o: ProvisioningOptions = {}): Record<string, unknown> {
  const job = withDefaults(DEFAULTS, o).prometheusJob;
  return {
    uid: 'citybrain-pipeline-down',
    title: 'CityBrainPipelineDown',
    condition: 'B',
    data: [
      {
        refId: 'A',
        relativeTimeRange: { from: 300, to: 0 },
        datasourceUid: DATASOURCES.prometheus.uid,
        model: { refId: 'A', expr: `up{job="${job}"}`, instant: true, range: false },
      },
      {
        refId: 'B',
        datasourceUid: '__expr__',
        model: { refId: 'B', type: 'threshold', expression: 'A', conditions: [{ evaluator: { type: 'lt', params: [1] } }] },
      },
    ],
    noDataState: 'Alerting',
    execErrState: 'Error',
    for: '2m',
    labels: { severity: 'critical' },
    annotations: { summary: `City Brain pipeline {{ .Labels.instance }} cannot be scraped by Prometheus (job ${job})` },
  };
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
/** YAML with `# comment` lines on top; undefined values are left out. */
const toYaml = (value: unknown, comments: string[]) => `${comments.map((c) => `# ${c}\n`).join('')}${stringify(value)}`;
const HEADER = ['Generated by `npm run dashboards` (dashboards/provisioning.ts); do not edit by hand.'];

/** The whole tree: relative path -> file content, in a fixed order. */
export function renderProvisioning(o: ProvisioningOptions = {}): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    'dashboards/city-brain.yaml',
    toYaml(
      {
        apiVersion: 1,
        providers: [
          {
            name: 'city-brain',
            orgId: 1,
            folder: FOLDER.title,
            folderUid: FOLDER.uid,
            type: 'file',
            disableDeletion: false,
            allowUiUpdates: false,
            updateIntervalSeconds: 30,
            options: { path: withDefaults(DEFAULTS, o).dashboardsPath, foldersFromFilesStructure: false },
          },
        ],
      },
      HEADER,
    ),
  );
  for (const d of allDashboards(o.kinds)) files.set(`dashboards/city-brain/${d.uid}.json`, json(d));
  files.set('datasources/city-brain.yaml', toYaml({ apiVersion: 1, datasources: datasources(o).map((d) => ({ orgId: 1, ...d })) }, HEADER));
  const { uid, name, ...receiver } = contactPoint(o);
  files.set(
    'alerting/city-brain.yaml',
    toYaml(
      {
        apiVersion: 1,
        contactPoints: [{ orgId: 1, name, receivers: [{ uid, ...receiver }] }],
        policies: [{ orgId: 1, ...notificationPolicy() }],
        groups: [{ orgId: 1, name: RULE_GROUP, folder: ALERT_FOLDER.title, interval: '1m', rules: [pipelineRule(o)] }],
      },
      [
        ...HEADER,
        "Grafana-managed alerts go to the crews' Alertmanager (routing in dashboards/alertmanager.yml);",
        "the city's own alerts are sent there by the pipeline and show in Grafana through the Alertmanager datasource.",
      ],
    ),
  );
  return files;
}

/**
 * `npm run dashboards -- --push`: the provisioning tree sent to a running Grafana over its HTTP API
 * (GRAFANA_URL; GRAFANA_TOKEN a service-account token with the Admin role as bearer, or `user:password`):
 * folders, datasources (created or updated by uid), dashboards (POST /api/dashboards/db, overwrite),
 * the Alertmanager contact point, the notification policy and the pipeline rule group.
 * Every step is an upsert: pushing twice leaves the same state.
 */
import {
  ALERT_FOLDER,
  allDashboards,
  contactPoint,
  datasources,
  notificationPolicy,
  pipelineRule,
  RULE_GROUP,
  type ProvisioningOptions,
} from './provisioning.js';
import { FOLDER } from './common.js';
import { grafanaAuthorization } from '../processors/sinks/grafana/annotations.js';
import { GrafanaPushError } from '../core/errors.js';

export interface GrafanaResponse {
  status: number;
  body: unknown;
}
/** One HTTP exchange with Grafana (injectable so the request bodies can be unit-tested). */
export type GrafanaSend = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => Promise<GrafanaResponse>;

export function grafanaClient(url: string, token: string | undefined, timeoutMs = 15_000): GrafanaSend {
  const base = url.replace(/\/+$/, '');
  return async (method, path, body) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const auth = grafanaAuthorization(token);
    if (auth) headers.authorization = auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new GrafanaPushError(`could not reach Grafana at ${base} (${method} ${path}): ${cause}`);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text for the error message
    }
    return { status: response.status, body: parsed };
  };
}

function expectOk(step: string, r: GrafanaResponse, also: number[] = []): void {
  if ((r.status >= 200 && r.status < 300) || also.includes(r.status)) return;
  throw new GrafanaPushError(`Grafana refused ${step}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
}

export interface PushResult {
  folders: string[];
  datasources: string[];
  dashboards: string[];
  alerting: string[];
}

async function ensureFolder(send: GrafanaSend, folder: { uid: string; title: string }): Promise<void> {
  const existing = await send('GET', `/api/folders/${folder.uid}`);
  if (existing.status === 200) return;
  expectOk(`folder ${folder.uid}`, await send('POST', '/api/folders', { uid: folder.uid, title: folder.title }), [409, 412]);
}

/** Pushes everything; throws on the first step Grafana refuses (naming it). */
export async function pushToGrafana(send: GrafanaSend, options: ProvisioningOptions = {}): Promise<PushResult> {
  const result: PushResult = { folders: [], datasources: [], dashboards: [], alerting: [] };
  for (const folder of [FOLDER, ALERT_FOLDER]) {
    await ensureFolder(send, folder);
    result.folders.push(folder.uid);
  }
  for (const ds of datasources(options)) {
    const uid = ds.uid as string;
    const existing = await send('GET', `/api/datasources/uid/${uid}`);
    if (existing.status === 200) expectOk(`datasource ${uid}`, await send('PUT', `/api/datasources/uid/${uid}`, ds));
    else expectOk(`datasource ${uid}`, await send('POST', '/api/datasources', ds));
    result.datasources.push(uid);
  }
  for (const d of allDashboards(options.kinds)) {
    expectOk(
      `dashboard ${d.uid}`,
      await send('POST', '/api/dashboards/db', {
        dashboard: { ...d, id: null },
        folderUid: FOLDER.uid,
        overwrite: true,
        message: 'city-brain: npm run dashboards -- --push',
      }),
    );
    result.dashboards.push(String(d.uid));
  }
  const cp = contactPoint(options);
  const found = await send('GET', `/api/v1/provisioning/contact-points?name=${encodeURIComponent(cp.name as string)}`);
  const exists = Array.isArray(found.body) && found.body.some((c: { uid?: string }) => c.uid === cp.uid);
  if (exists) expectOk('contact point', await send('PUT', `/api/v1/provisioning/contact-points/${cp.uid as string}`, cp));
  else expectOk('contact point', await send('POST', '/api/v1/provisioning/contact-points', cp));
  result.alerting.push(`contact point ${cp.uid as string}`);
  expectOk('notification policy', await send('PUT', '/api/v1/provisioning/policies', notificationPolicy()));
  result.alerting.push('notification policy');
  const rule = { ...pipelineRule(options), folderUID: ALERT_FOLDER.uid, ruleGroup: RULE_GROUP, orgID: 1 };
  expectOk(
    'rule group',
    await send('PUT', `/api/v1/provisioning/folder/${ALERT_FOLDER.uid}/rule-groups/${RULE_GROUP}`, {
      title: RULE_GROUP,
      folderUid: ALERT_FOLDER.uid,
      interval: 60,
      rules: [rule],
    }),
  );
  result.alerting.push(`rule group ${RULE_GROUP}`);
  return result;
}

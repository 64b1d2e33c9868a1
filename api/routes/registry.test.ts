import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeRegistry, PipelineMetrics, type ApiRole } from '../../core/index.js';
import { defaultKinds } from '../../core/kinds/modules.js';
import { lamp, STATION } from '../../test/fixtures.js';
import { startTestFeed } from '../../test/registry-feed.js';
import { freshStateDir } from '../../test/helpers.js';
import { stubView } from '../../test/stub-view.js';
import { buildApi } from '../server.js';
import { CredentialFile } from '../../ingest/auth/credential-file.js';
import { parseCredentials, verifySecret } from '../../ingest/auth/credentials.js';

const OPERATOR = 'operator-token-0123456789';
const OPERATOR_2 = 'operator-token-second-0123';
const ADMIN = 'admin-token-0123456789abcd';
const VIEWER = 'viewer-token-0123456789ab';
const kinds = defaultKinds();
const view = stubView();
/** A well with its warning lines: a nested attribute (CSV columns lines.yellow, ...). */
const well = Object.assign(
  { nodeId: 'GW-1', kind: 'groundwater', district: 'Lixia', lat: 36.66, lon: 117.01 },
  { well: 'Baotu Spring', springGroup: 'Baotu', lines: { yellow: 28.15, orange: 28, red: 27.6 } },
);

/** The registry routes on a real feed (in-process log, journal in a fresh STATE_DIR); the pipeline view is a stand-in. */
describe('registry API', () => {
  let app: FastifyInstance;
  let registry: NodeRegistry;
  let stateDir: string;
  let logLines: string[] = [];
  const logSink = new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) });
  let parts: Awaited<ReturnType<typeof startTestFeed>>;

  /** The API on the registry kept in `stateDir` (a restart: the same directory again). */
  let credentialFile: CredentialFile | undefined;
  async function start(dir = freshStateDir()) {
    stateDir = dir;
    parts = await startTestFeed([lamp(1), lamp(2), STATION, well], dir, pino({ level: 'info' }, logSink));
    registry = parts.registry;
    app = await buildApi({
      view,
      kinds,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
      tokens: new Map<string, ApiRole>([
        [OPERATOR, 'operator'],
        [OPERATOR_2, 'operator'],
        [ADMIN, 'admin'],
        [VIEWER, 'viewer'],
      ]),
      registry: {
        registry,
        feed: parts.feed,
        audit: parts.audit,
        importMaxBytes: 1 << 20,
        ...(credentialFile ? { credentials: credentialFile } : {}),
      },
    });
  }
  beforeEach(() => {
    logLines = [];
    credentialFile = undefined;
    return start();
  });
  afterEach(async () => {
    await app.close();
    await parts.stop();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, token = OPERATOR, type = 'application/json') =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': type } : {}) },
      ...(payload !== undefined ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) } : {}),
    });
  const csv = (text: string, query = '') => call('POST', `/api/v1/registry/import${query}`, text, OPERATOR, 'text/csv');

  it('creates, changes and decommissions a node; a second create of the id is 409, an unknown id 404', async () => {
    const created = await call('POST', '/api/v1/nodes', lamp(3, { circuit: 'C7' }));
    expect(created.statusCode).toBe(201);
    expect(created.json().node).toMatchObject({ nodeId: 'SL-3', circuit: 'C7' });
    expect(registry.get('SL-3')).toBeDefined();
    expect((await call('POST', '/api/v1/nodes', lamp(3))).statusCode).toBe(409);
    const changed = await call('PATCH', '/api/v1/nodes/SL-3', { ratedW: 150, gatewayId: 'GW-R1' });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().node).toMatchObject({ ratedW: 150, gatewayId: 'GW-R1', circuit: 'C7' });
    expect((await call('PATCH', '/api/v1/nodes/SL-3', { gatewayId: null })).json().node).not.toHaveProperty('gatewayId');
    const bad = await call('PATCH', '/api/v1/nodes/SL-3', { ratedW: 'bright' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      error: 'invalid-rows',
      errors: [{ row: 1, id: 'SL-3', reason: expect.stringContaining('ratedW') }],
    });
    expect((await call('DELETE', '/api/v1/nodes/SL-3')).statusCode).toBe(200);
    expect(registry.get('SL-3')).toBeUndefined();
    expect(registry.decommissioned('SL-3')).toBeDefined();
    const unknown = await call('DELETE', '/api/v1/nodes/SL-404');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'not-found', message: 'node SL-404 is not in service' });
    expect((await call('PATCH', '/api/v1/nodes/SL-404', { ratedW: 1 })).statusCode).toBe(404);
  });

  it('answers the pending routes with 409 naming AUTO_REGISTER while registration on first sight is off', async () => {
    for (const [method, url, payload] of [
      ['GET', '/api/v1/registry/pending', undefined],
      ['POST', '/api/v1/registry/pending/SL-9/approve', {}],
      ['DELETE', '/api/v1/registry/pending/SL-9', undefined],
    ] as const) {
      const res = await call(method, url, payload);
      expect([url, res.statusCode, res.json().message]).toEqual([url, 409, expect.stringContaining('AUTO_REGISTER=quarantine')]);
    }
  });

  it('lets a viewer read the registry but not write it (403)', async () => {
    for (const [method, url, body] of [
      ['POST', '/api/v1/nodes', lamp(9)],
      ['PATCH', '/api/v1/nodes/SL-1', { ratedW: 1 }],
      ['DELETE', '/api/v1/nodes/SL-1', undefined],
      ['POST', '/api/v1/gateways', { gatewayId: 'GW-X' }],
      ['POST', '/api/v1/registry/import', [lamp(9)]],
    ] as const) {
      const res = await call(method, url, body, VIEWER);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    expect(registry.has('SL-9')).toBe(false);
    expect(registry.has('SL-1')).toBe(true);
    expect((await call('GET', '/api/v1/registry/export', undefined, VIEWER)).statusCode).toBe(200);
  });

  it('creates a gateway with the nodes behind it; one listing a node that does not exist is refused', async () => {
    const res = await call('POST', '/api/v1/gateways', { gatewayId: 'GW-R1', district: 'Lixia', nodes: ['SL-1', 'SL-2'] });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ gateway: { gatewayId: 'GW-R1', district: 'Lixia' }, nodes: ['SL-1', 'SL-2'] });
    expect(registry.get('SL-1')?.gatewayId).toBe('GW-R1');
    const missing = await call('POST', '/api/v1/gateways', { gatewayId: 'GW-R2', nodes: ['SL-1', 'SL-999'] });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toEqual([{ row: 1, entity: 'gateway', id: 'GW-R2', reason: expect.stringContaining('SL-999') }]);
    expect(registry.gateway('GW-R2')).toBeUndefined();
    expect((await call('DELETE', '/api/v1/gateways/GW-R1')).statusCode).toBe(200);
    expect(registry.decommissionedGateway('GW-R1')).toBeDefined();
    expect((await call('DELETE', '/api/v1/gateways/GW-R1')).statusCode).toBe(404);
  });

  describe('import', () => {
    const header = 'nodeId,kind,district,lat,lon,road,roadClass,circuit,ratedW';
    const row = (id: string, rest = 'Lixia,36.6,117.0,Jingshi Road,main,C1,200') => `${id},streetlight,${rest}`;

    it('applies nothing when a row is bad, and names each bad row with its line and reason', async () => {
      const cases: [string, string, RegExp][] = [
        [
          'malformed CSV row',
          [header, row('SL-10'), 'SL-11,streetlight,Lixia,36.6', row('SL-12')].join('\n'),
          /malformed row: 4 cells, the header has 9/,
        ],
        [
          'attribute invalid for the kind',
          [header, row('SL-10'), row('SL-11', 'Lixia,36.6,117.0,Jingshi Road,motorway,C1,200')].join('\n'),
          /roadClass/,
        ],
        [
          'unknown district',
          [header, row('SL-10'), row('SL-11', 'Atlantis,36.6,117.0,Jingshi Road,main,C1,200')].join('\n'),
          /unknown district Atlantis/,
        ],
        [
          'duplicate ids',
          [header, row('SL-10'), row('SL-11'), row('SL-10')].join('\n'),
          /duplicate id SL-10 in this import \(first at row 2\)/,
        ],
      ];
      for (const [what, text, reason] of cases) {
        const res = await csv(text);
        expect(res.statusCode, what).toBe(400);
        const { errors } = res.json<{ errors: { row: number; reason: string }[] }>();
        expect(errors, what).toHaveLength(1);
        expect(errors[0]!.row, what).toBe(what === 'duplicate ids' ? 4 : 3);
        expect(errors[0]!.reason, what).toMatch(reason);
        expect(registry.has('SL-10'), what).toBe(false);
      }
      const gateway = await call('POST', '/api/v1/registry/import', {
        nodes: [lamp(10)],
        gateways: [{ gatewayId: 'GW-9', nodes: ['SL-10', 'SL-77'] }],
      });
      expect(gateway.statusCode).toBe(400);
      expect(gateway.json().errors).toEqual([{ row: 1, entity: 'gateway', id: 'GW-9', reason: expect.stringContaining('SL-77') }]);
      expect(registry.has('SL-10')).toBe(false);
    });

    it('partial=true applies the valid rows and reports the others; dryRun applies nothing', async () => {
      const text = [
        header,
        row('SL-10'),
        row('SL-11', 'Lixia,36.6,117.0,Jingshi Road,main,C1,-5'),
        row('SL-1', 'Lixia,36.6,117.0,Jingshi Road,main,C1,100'),
      ].join('\n');
      const dry = await csv(text, '?dryRun=true&partial=true');
      expect(dry.json()).toMatchObject({ dryRun: true, applied: 0, created: 1, updated: 1, errors: [{ row: 3, id: 'SL-11' }] });
      expect(registry.has('SL-10')).toBe(false);
      const res = await csv(text, '?partial=true');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        dryRun: false,
        applied: 2,
        created: 1,
        updated: 1,
        errors: [{ row: 3, reason: expect.stringContaining('ratedW') }],
      });
      expect(registry.has('SL-10')).toBe(true);
      expect(registry.get('SL-1')).toMatchObject({ ratedW: 100 });
    });

    it('round-trips: an export imported again changes nothing, in CSV and in JSON', async () => {
      await call('POST', '/api/v1/gateways', { gatewayId: 'GW-R1', district: 'Lixia', name: 'Cabinet, north', nodes: ['SL-1'] });
      const exported = await call('GET', '/api/v1/registry/export?format=csv');
      expect(exported.headers['content-type']).toContain('text/csv');
      const text = exported.body;
      const header = text.split('\n')[0]!.split(',');
      // Columns from the kinds' attribute schemas: a nested attribute as name.field, profile kinds' attributes too.
      expect(header.slice(0, 7)).toEqual(['nodeId', 'kind', 'district', 'lat', 'lon', 'expectedIntervalS', 'gatewayId']);
      expect(header).toEqual(
        expect.arrayContaining(['ratedW', 'lines.yellow', 'zoneClass', 'spaces', 'closureDepthM', 'network', 'nodes']),
      );
      const again = await csv(text);
      expect(again.json()).toMatchObject({ rows: 5, created: 0, updated: 0, unchanged: 5, applied: 0, errors: [] });
      const json = (await call('GET', '/api/v1/registry/export?format=json')).json();
      expect(json.gateways).toEqual([{ gatewayId: 'GW-R1', district: 'Lixia', name: 'Cabinet, north' }]);
      expect((await call('POST', '/api/v1/registry/import', json)).json()).toMatchObject({ unchanged: 5, applied: 0 });
      // Into an empty registry, the CSV gives the same registry back.
      const other = new NodeRegistry([], [], kinds);
      const { planImport, readCsvImport } = await import('../../core/index.js');
      other.apply((await planImport(other, await readCsvImport(text, kinds), { name: 't', role: 'admin' }, 0)).changes);
      expect([...other.all()]).toEqual([...registry.all()]);
      expect(other.get('GW-1')).toEqual(well);
    });
  });

  it('keeps an audit trail of every change: who (token name, role, which token), what, when, before and after; it survives a restart', async () => {
    const t0 = Date.now();
    await call('POST', '/api/v1/nodes', lamp(3));
    await call('PATCH', '/api/v1/nodes/SL-3', { ratedW: 120 }, OPERATOR_2);
    await call('DELETE', '/api/v1/nodes/SL-3');
    await csv('nodeId,kind,district,lat,lon,road,roadClass,circuit,ratedW\nSL-1,streetlight,Lixia,36.66,117.07,Jingshi Road,main,C1,90');
    const trail = (await call('GET', '/api/v1/registry/audit?entity=node&id=SL-3')).json().items;
    expect(trail.map((e: { op: string }) => e.op)).toEqual(['decommission', 'update', 'create']);
    const [gone, update, create] = trail;
    expect(create).toMatchObject({
      by: { name: 'operator-token', role: 'operator' },
      before: null,
      after: { nodeId: 'SL-3', ratedW: 200 },
    });
    expect(update).toMatchObject({ before: { ratedW: 200 }, after: { ratedW: 120 } });
    // Two tokens of one role are told apart (by a fingerprint, never the token).
    expect(update.by.token).toMatch(/^[0-9a-f]{12}$/);
    expect(update.by.token).not.toBe(create.by.token);
    expect(JSON.stringify(trail)).not.toContain(OPERATOR);
    expect(gone).toMatchObject({ before: { nodeId: 'SL-3', ratedW: 120 }, after: null });
    // In the log too, one line per change.
    const logged = logLines
      .map((l) => JSON.parse(l) as { msg: string; audit?: { id: string; op: string } })
      .filter((l) => l.msg === 'registry change');
    expect(logged.filter((l) => l.audit?.id === 'SL-3').map((l) => l.audit!.op)).toEqual(['create', 'update', 'decommission']);
    expect(logLines.join('')).not.toContain(OPERATOR);
    // A bulk write: one summary line; every entry still on the trail.
    const bulk = Array.from({ length: 101 }, (_, i) => lamp(500 + i));
    expect((await call('POST', '/api/v1/registry/import', bulk)).json()).toMatchObject({ created: 101 });
    expect(logLines.filter((l) => l.includes('"msg":"registry changes (each on the audit topic)"'))).toHaveLength(1);
    expect(logLines.filter((l) => l.includes('SL-550'))).toHaveLength(0);
    expect((await call('GET', '/api/v1/registry/audit?entity=node&id=SL-550')).json().items).toHaveLength(1);
    for (const e of trail) expect(e.at).toBeGreaterThanOrEqual(t0);
    const imported = (await call('GET', '/api/v1/registry/audit?entity=node&id=SL-1')).json().items;
    expect(imported).toMatchObject([{ op: 'update', id: 'SL-1', before: { ratedW: 200 }, after: { ratedW: 90 } }]);
    expect((await call('GET', '/api/v1/registry/audit', undefined, VIEWER)).statusCode).toBe(403);
    // A restart on the same state directory: the registry and its trail as they were.
    await app.close();
    await parts.stop();
    await start(stateDir);
    expect(registry.get('SL-1')).toMatchObject({ ratedW: 90 });
    expect(registry.decommissioned('SL-3')).toBeDefined();
    expect((await call('GET', '/api/v1/registry/audit?entity=node&id=SL-3')).json().items).toEqual(trail);
  });

  it('issues MQTT credentials with a create (admin), rotates and revokes them; the file holds hashes only', async () => {
    const file = join(freshStateDir(), 'credentials.json');
    await app.close();
    await parts.stop();
    credentialFile = new CredentialFile(file);
    await start();
    const created = await call('POST', '/api/v1/nodes?credentials=true', lamp(3), ADMIN);
    expect(created.statusCode).toBe(201);
    const { credentials } = created.json<{ credentials: { type: string; username: string; password: string } }>();
    expect(credentials).toMatchObject({ type: 'device', username: 'SL-3', password: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
    const stored = () => readFile(file, 'utf8');
    expect(await stored()).not.toContain(credentials.password);
    const entry = async (id: string) => parseCredentials(await stored(), file).find((e) => e.id === id);
    expect(await verifySecret(credentials.password, (await entry('SL-3'))!.secret)).toBe(true);
    // A gateway and its credentials in one import.
    const imported = await call(
      'POST',
      '/api/v1/registry/import?credentials=true',
      { nodes: [lamp(4)], gateways: [{ gatewayId: 'GW-NEW', nodes: ['SL-4'] }] },
      ADMIN,
    );
    expect(imported.json().credentials).toEqual([{ type: 'gateway', id: 'GW-NEW', username: 'GW-NEW', password: expect.any(String) }]);
    // Rotation: a new secret; the old one no longer verifies.
    const rotated = (await call('POST', '/api/v1/nodes/SL-3/credentials', undefined, ADMIN)).json().credentials;
    expect(rotated.password).not.toBe(credentials.password);
    expect(await verifySecret(credentials.password, (await entry('SL-3'))!.secret)).toBe(false);
    expect((await call('DELETE', '/api/v1/nodes/SL-3/credentials', undefined, ADMIN)).statusCode).toBe(200);
    expect((await entry('SL-3'))!.disabled).toBe(true);
    expect((await call('DELETE', '/api/v1/gateways/GW-NEW/credentials', undefined, ADMIN)).statusCode).toBe(200);
    expect((await call('DELETE', '/api/v1/nodes/SL-1/credentials', undefined, ADMIN)).statusCode).toBe(404);
    // Decommissioning revokes what is left.
    await call('POST', '/api/v1/nodes/SL-4/credentials', undefined, ADMIN);
    expect((await call('DELETE', '/api/v1/nodes/SL-4')).json()).toMatchObject({ credentialsRevoked: true });
    expect((await entry('SL-4'))!.disabled).toBe(true);
    // Credentials need the admin role.
    expect((await call('POST', '/api/v1/nodes?credentials=true', lamp(5))).statusCode).toBe(403);
    expect((await call('POST', '/api/v1/nodes/SL-1/credentials')).statusCode).toBe(403);
    expect(registry.has('SL-5')).toBe(false);
  });

  it('answers 409 for credentials where no credentials file is configured', async () => {
    const res = await call('POST', '/api/v1/nodes?credentials=true', lamp(3), ADMIN);
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toContain('MQTT_CREDENTIALS');
    expect(registry.has('SL-3')).toBe(false);
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCity, NodeRegistry } from '../../core/index.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { testConfig } from '../../test/helpers.js';
import { ConnectLimiter } from './connect-limit.js';
import { CredentialStore, credentialsToJson, hashSecret, parseCredentials, principalsOf, provision, verifySecret } from './credentials.js';
import { loadMqttAuth } from './index.js';
import { loadDeviceSecrets, provisionFile } from './provision-file.js';
import { publishPolicy } from './publish-policy.js';
import { subscribeAllowed } from './subscribe-policy.js';
import { defaultKinds } from '../../core/kinds/modules.js';

describe('credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-cred-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes with scrypt, its own salt per entry, and verifies only the right secret', async () => {
    const a = await hashSecret('s3cret-s3cret-s3cret');
    const b = await hashSecret('s3cret-s3cret-s3cret');
    expect(a).toMatchObject({ alg: 'scrypt', N: 4096, r: 8, p: 1 });
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(await verifySecret('s3cret-s3cret-s3cret', a)).toBe(true);
    expect(await verifySecret('s3cret-s3cret-s3cret!', a)).toBe(false);
  });

  it('names the file and the entry of every invalid credential', () => {
    const good = {
      type: 'device',
      id: 'GW-1',
      secret: { alg: 'scrypt', N: 4096, r: 8, p: 1, salt: 'AAAAAAAAAAAAAAAAAAAAAA==', hash: 'AAAAAAAAAAAAAAAAAAAAAA==' },
    };
    expect(() => parseCredentials('{', 'c.json')).toThrow(/^credentials file c\.json: not valid JSON/);
    expect(() => parseCredentials('[]', 'c.json')).toThrow(/credentials file c\.json: \(top level\): .*expected \{ "version": 1/);
    const text = JSON.stringify({ version: 1, entries: [good, { ...good, type: 'lamp', id: 'SL-2' }, good, { ...good, id: 'bad/id' }] });
    let message = '';
    try {
      parseCredentials(text, 'c.json');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^credentials file c\.json: 3 invalid entries:/);
    expect(message).toContain('entry 1 (SL-2): type:');
    expect(message).toContain('entry 2 (GW-1): duplicate id');
    expect(message).toContain('entry 3 (bad/id): id:');
  });

  it('provisions every gateway and every node without one; the store verifies them, refuses the rest', async () => {
    const registry = generateCity(defaultKinds());
    const principals = principalsOf(registry);
    const gateways = new Set([...registry.all()].filter((n) => n.gatewayId).map((n) => n.gatewayId));
    const direct = [...registry.all()].filter((n) => !n.gatewayId).length;
    expect(principals.filter((p) => p.type === 'gateway')).toHaveLength(gateways.size);
    expect(principals.filter((p) => p.type === 'device')).toHaveLength(direct);

    const { entries, secrets } = await provision(principals.slice(0, 3));
    const store = new CredentialStore(entries);
    const [gw, , dev] = secrets;
    expect(await store.verify(gw!.id, gw!.password)).toEqual({ type: gw!.type, id: gw!.id });
    expect(await store.verify(gw!.id, gw!.password)).toEqual({ type: gw!.type, id: gw!.id }); // remembered
    expect(await store.verify(gw!.id, dev!.password)).toBeNull(); // a remembered success does not admit another secret
    expect(await store.verify('nobody', gw!.password)).toBeNull();
    store.replace(entries.map((e) => (e.id === gw!.id ? { ...e, disabled: true } : e)));
    expect(await store.verify(gw!.id, gw!.password)).toBeNull(); // revoked: the remembered success is gone
    expect(store.summary()).toEqual({ entries: 3, devices: 0, gateways: 2, disabled: 1 });
  });

  it('a logged-in principal stays in force only while its entry does: revoked, removed or rotated ends it; every change is announced', async () => {
    const { entries, secrets } = await provision([
      { type: 'device', id: 'SL-1' },
      { type: 'device', id: 'SL-2' },
    ]);
    const store = new CredentialStore(entries);
    let changes = 0;
    store.onChange(() => changes++);
    const [one, two] = secrets;
    const p1 = (await store.verify(one!.id, one!.password))!;
    const p2 = (await store.verify(two!.id, two!.password))!;
    expect([store.active(p1), store.active(p2)]).toEqual([true, true]);
    // The same entries read again (a reload of an unchanged file): still in force.
    store.replace(entries.map((e) => JSON.parse(JSON.stringify(e)) as typeof e));
    expect([store.active(p1), store.active(p2)]).toEqual([true, true]);
    // SL-1's secret rotated: its session ends; one logged in with the new secret is in force.
    const rotated = await provision([{ type: 'device', id: 'SL-1' }]);
    store.replace([rotated.entries[0]!, entries[1]!]);
    expect([store.active(p1), store.active(p2)]).toEqual([false, true]);
    expect(store.active((await store.verify('SL-1', rotated.secrets[0]!.password))!)).toBe(true);
    // SL-2 removed.
    store.replace([rotated.entries[0]!]);
    expect(store.active(p2)).toBe(false);
    expect(changes).toBe(3);
  });

  it('`city-brain credentials` adds only what is missing and writes each secret once, mode 0600', async () => {
    const small = new NodeRegistry(
      [...generateCity(defaultKinds()).all()].filter((n) => n.kind === 'groundwater').slice(0, 3),
      [],
      defaultKinds(),
    );
    const out = join(dir, 'credentials.json');
    const first = await provisionFile({ registry: small, out, secrets: join(dir, 's1.json') });
    expect(first).toEqual({ total: 3, added: 3, gateways: 0, devices: 3 });
    expect(statSync(join(dir, 's1.json')).mode & 0o777).toBe(0o600);
    const secrets = await loadDeviceSecrets(join(dir, 's1.json'));
    const store = await CredentialStore.fromFile(out);
    for (const [id, password] of secrets) expect(await store.verify(id, password)).toMatchObject({ id, type: 'device' });

    const grown = new NodeRegistry(
      [...generateCity(defaultKinds()).all()].filter((n) => n.kind === 'groundwater').slice(0, 5),
      [],
      defaultKinds(),
    );
    await expect(provisionFile({ registry: grown, out, secrets: join(dir, 's1.json') })).rejects.toThrow(
      /s1\.json already exists; it is never overwritten/,
    );
    expect(parseCredentials(readFileSync(out, 'utf8'), out)).toHaveLength(3); // nothing half-written
    expect(await provisionFile({ registry: grown, out, secrets: join(dir, 's2.json') })).toEqual({
      total: 5,
      added: 2,
      gateways: 0,
      devices: 5,
    });
    expect((await loadDeviceSecrets(join(dir, 's2.json'))).size).toBe(2);
    expect(await provisionFile({ registry: grown, out, secrets: join(dir, 's3.json') })).toMatchObject({ added: 0 });
    expect(credentialsToJson(parseCredentials(readFileSync(out, 'utf8'), out))).not.toMatch(/password/);
  });
});

describe('authorization policies', () => {
  const registry = generateCity(defaultKinds());
  const space = registry.ofKind('parking')[0]!;
  const gw = space.gatewayId!;
  const foreign = registry.ofKind('parking').find((p) => p.gatewayId !== gw)!;
  const well = registry.ofKind('groundwater').find((w) => !w.gatewayId)!;
  const may = publishPolicy(registry);
  const device = { type: 'device' as const, id: well.nodeId };
  const gateway = { type: 'gateway' as const, id: gw };

  it('a device publishes only for its own node id; a gateway for its batch and its own nodes', () => {
    expect(may(device, `city/${well.district}/groundwater/${well.nodeId}/telemetry`).allowed).toBe(true);
    expect(may(device, `city/${well.district}/groundwater/${well.nodeId}/status`).allowed).toBe(true);
    expect(may(device, `city/${space.district}/parking/${space.nodeId}/telemetry`)).toMatchObject({ allowed: false, nodeId: space.nodeId });
    expect(may(device, `city/gateways/${gw}/batch`).allowed).toBe(false);
    expect(may(device, 'lamps/whatever').allowed).toBe(false);
    const batch = may(gateway, `city/gateways/${gw}/batch`);
    expect(batch.allowed && batch.refuseEntry?.(space.nodeId)).toBeUndefined();
    expect(batch.allowed && batch.refuseEntry?.(foreign.nodeId)).toMatch(new RegExp(`gateway ${gw} may not carry node ${foreign.nodeId}`));
    expect(batch.allowed && batch.refuseEntry?.('SL-UNKNOWN-1')).toBeUndefined(); // left to validation: unknown-node
    expect(may(gateway, `city/gateways/${foreign.gatewayId}/batch`).allowed).toBe(false);
    expect(may(gateway, `city/${space.district}/parking/${space.nodeId}/status`).allowed).toBe(true);
    expect(may(gateway, `city/${foreign.district}/parking/${foreign.nodeId}/status`).allowed).toBe(false);
  });

  it("subscriptions only to filters that match nothing but the subscriber's own topics", () => {
    expect(subscribeAllowed(device, `city/+/+/${well.nodeId}/#`)).toBe(true);
    expect(subscribeAllowed(device, `city/${well.district}/groundwater/${well.nodeId}/config`)).toBe(true);
    for (const f of ['#', 'city/#', 'city/+/+/+/telemetry', `city/+/+/${space.nodeId}/#`, '$SYS/#', `city/#/x/${well.nodeId}`])
      expect(subscribeAllowed(device, f)).toBe(false);
    expect(subscribeAllowed(gateway, `city/gateways/${gw}/#`)).toBe(true);
    expect(subscribeAllowed(gateway, `city/gateways/+/#`)).toBe(false);
    expect(subscribeAllowed(gateway, `city/gateways/${foreign.gatewayId}/#`)).toBe(false);
  });

  it('limits new connections per IP as a token bucket', () => {
    let now = 0;
    const limiter = new ConnectLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3, 4].map(() => limiter.take('10.0.0.1'))).toEqual([true, true, true, false]);
    expect(limiter.take('10.0.0.2')).toBe(true); // another IP has its own bucket
    now = 499; // 0.998 tokens refilled: not yet one
    expect(limiter.take('10.0.0.1')).toBe(false);
    now = 1000; // 2 tokens per second
    expect([1, 2, 3].map(() => limiter.take('10.0.0.1'))).toEqual([true, true, false]);
  });
});

describe('MQTT_AUTH at start-up', () => {
  const registry = generateCity(defaultKinds());
  const logged = () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }));
    return { logger, text: () => lines.join('') };
  };

  it('off must be explicit and warns', async () => {
    const { logger, text } = logged();
    expect(await loadMqttAuth(testConfig({ MQTT_AUTH: 'off' }), registry, logger)).toBeUndefined();
    expect(text()).toContain('MQTT_AUTH=off: any client may connect and publish as any device');
  });

  it('on without a credentials file: starts with an empty store (every device refused) and says how to provision', async () => {
    const { logger, text } = logged();
    const auth = await loadMqttAuth(testConfig({ MQTT_AUTH: 'on' }), registry, logger);
    expect(auth?.store.size).toBe(0);
    expect(text()).toContain('city-brain credentials --out credentials.json');
    auth?.close();
  });

  it('on with a missing file: one error naming it', async () => {
    await expect(
      loadMqttAuth(testConfig({ MQTT_AUTH: 'on', MQTT_CREDENTIALS: '/nonexistent/credentials.json' }), registry, logged().logger),
    ).rejects.toThrow('credentials file /nonexistent/credentials.json: cannot read: ENOENT');
  });
});

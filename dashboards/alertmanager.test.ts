import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DISTRICTS } from '../core/registry/districts.js';
import { alertmanagerReceivers, crewReceiver, renderAlertmanagerConfig } from './alertmanager.js';
import { defaultKinds } from '../core/kinds/modules.js';

const shipped = fileURLToPath(new URL('./alertmanager.yml', import.meta.url));

describe('dashboards/alertmanager.yml', () => {
  it('is exactly what the generator renders (regenerate: UPDATE_ALERTMANAGER_YML=1 npx vitest run dashboards)', () => {
    // The shipped file is read before anything is written, so the comparison can fail even when
    // regenerating: a stale file is rewritten and the run still fails once, naming the rewrite.
    const before = readFileSync(shipped, 'utf8');
    const rendered = renderAlertmanagerConfig();
    const update = process.env.UPDATE_ALERTMANAGER_YML === '1';
    if (update && before !== rendered) writeFileSync(shipped, rendered);
    expect(
      before,
      update
        ? 'dashboards/alertmanager.yml was stale and has been regenerated: review and commit it'
        : 'dashboards/alertmanager.yml differs from the generator: regenerate with UPDATE_ALERTMANAGER_YML=1',
    ).toBe(rendered);
  });

  it('routes every kind (built-in and profile kinds) and district to a crew, groups by circuit and inhibits StreetlightOut by CircuitDark', () => {
    const yml = renderAlertmanagerConfig();
    expect(yml).toContain('group_by: ["alertname", "district", "kind", "circuit"]');
    const kinds = defaultKinds().names();
    // RoadWaterlogging and ManholeCoverOpen carry kind waterlogging / manhole: their crews are routed like the others'.
    expect(kinds).toEqual(expect.arrayContaining(['streetlight', 'groundwater', 'noise', 'parking', 'waterlogging', 'manhole']));
    for (const kind of kinds) {
      expect(yml).toContain(`matchers: ["kind=\\"${kind}\\""]`);
      for (const d of DISTRICTS) expect(yml).toContain(`- name: "${crewReceiver(kind, d.name)}"`);
    }
    expect(yml).toMatch(
      /source_matchers: \["alertname=\\"CircuitDark\\""\]\n\s+target_matchers: \["alertname=\\"StreetlightOut\\""\]\n\s+equal: \["circuit"\]/,
    );
    expect(defaultKinds().alertNames()).toContain('CircuitDark');
    expect(defaultKinds().alertNames()).toContain('StreetlightOut');
    expect((yml.match(/send_resolved: true/g) ?? []).length).toBe(alertmanagerReceivers().length);
    expect(yml).not.toMatch(/\t/);
  });

  it('takes the webhook URLs and timings from its parameters', () => {
    const yml = renderAlertmanagerConfig({
      webhookUrl: (r) => `http://127.0.0.1:1234/${r}`,
      districts: ['Lixia'],
      kinds: ['streetlight'],
      groupWait: '1s',
      groupInterval: '2s',
    });
    expect(yml).toContain('url: "http://127.0.0.1:1234/crew-streetlight-lixia"');
    expect(yml).toContain('group_wait: 1s');
    expect(yml).toContain('group_interval: 2s');
    expect(alertmanagerReceivers({ districts: ['Lixia'], kinds: ['streetlight'] })).toEqual([
      'ops-center',
      'crew-streetlight',
      'crew-streetlight-lixia',
    ]);
  });
});

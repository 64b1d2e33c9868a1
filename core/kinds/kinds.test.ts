import { describe, expect, it } from 'vitest';
import type { Kpis } from '../view.js';
import type { SectionOf } from './index.js';
import type { KindModule } from './module.js';
import { BUILTIN_KINDS, defaultKinds, kindCatalog, loadKinds } from './modules.js';
import { NoiseProcessor } from './noise/processor.js';
import { streetlight } from './streetlight/index.js';

describe('the kind list', () => {
  it("names each kind's KPI section once; the API keeps the domain's words", () => {
    expect(Object.fromEntries(BUILTIN_KINDS.map((m) => [m.name, m.section]))).toEqual({
      streetlight: 'lighting',
      groundwater: 'groundwater',
      noise: 'noise',
      parking: 'parking',
    });
    expect(defaultKinds().names()).toEqual(['streetlight', 'groundwater', 'noise', 'parking', 'manhole', 'waterlogging']);
  });

  it('the KPI document has a section for every kind (checked by the compiler: npm test type-checks this file)', () => {
    const section = {};
    const kpis: Kpis = { evaluatedAt: 0, nodes: {}, lighting: section, groundwater: section, noise: section, parking: section };
    // @ts-expect-error a KPI document without the parking section does not compile
    const missing: Kpis = { evaluatedAt: 0, nodes: {}, lighting: section, groundwater: section, noise: section };
    // @ts-expect-error the section of streetlight is `lighting`, not the kind's name
    const misnamed: SectionOf<'streetlight'> = 'streetlight';
    expect([kpis, missing, misnamed]).toHaveLength(3);
  });

  it('a module missing a part, or with a part of the wrong kind, does not compile (npm test type-checks this file)', () => {
    const { dashboard: _dashboard, ...withoutDashboard } = streetlight;
    // @ts-expect-error no dashboard
    const noDashboard: KindModule = withoutDashboard;
    const { influx: _influx, ...withoutPoints } = streetlight;
    // @ts-expect-error no InfluxDB points
    const noPoints: KindModule = withoutPoints;
    const { sample: _sample, ...withoutSamples } = streetlight;
    // @ts-expect-error no sample readings
    const noSamples: KindModule = withoutSamples;
    // @ts-expect-error a processor of another kind
    const wrongProcessor: typeof streetlight = { ...streetlight, processor: () => new NoiseProcessor() };
    expect([noDashboard, noPoints, noSamples, wrongProcessor]).toHaveLength(4);
  });

  it('refuses two kinds with one name or one KPI section', () => {
    expect(() => kindCatalog([], [...BUILTIN_KINDS, streetlight])).toThrow(/two sensor kinds named streetlight/);
    expect(() => kindCatalog([], [...BUILTIN_KINDS, { ...streetlight, name: 'lamp' }])).toThrow(/kind lamp: KPI section lighting is taken/);
    expect(() => kindCatalog([], [{ ...streetlight, section: 'nodes' }])).toThrow(/KPI section nodes is taken/);
  });

  it("a profile may not take a built-in kind's name or alert, whatever the list of built-in kinds", () => {
    const catalog = loadKinds([], [streetlight]);
    expect(catalog.names()).toEqual(['streetlight', 'manhole', 'waterlogging']);
    expect(catalog.alertNames()).toEqual(expect.arrayContaining(['NodeOffline', 'StreetlightOut', 'ManholeCoverOpen', 'RoadWaterlogging']));
  });
});

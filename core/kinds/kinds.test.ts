import { describe, expect, it } from 'vitest';
import type { Kpis } from '../view.js';
import { KIND_NAMES, KINDS, type SectionOf } from './index.js';

describe('the kind list', () => {
  it("names each kind's KPI section once; the API keeps the domain's words", () => {
    expect(Object.fromEntries(KIND_NAMES.map((k) => [k, KINDS[k].section]))).toEqual({
      streetlight: 'lighting',
      groundwater: 'groundwater',
      noise: 'noise',
      parking: 'parking',
    });
    expect(new Set(KIND_NAMES.map((k) => KINDS[k].section)).size).toBe(KIND_NAMES.length);
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
});

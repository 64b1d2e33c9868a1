import { describe, expect, it } from 'vitest';
import { KindCatalog } from '../core/index.js';
import { config } from '../test/fixtures.js';
import { GroundwaterProcessor } from '../core/kinds/groundwater/processor.js';
import { createKindProcessors, processorsFor } from './kind-processors.js';
import { LightingProcessor } from '../core/kinds/streetlight/processor.js';
import { NoiseProcessor } from '../core/kinds/noise/processor.js';
import { ParkingProcessor } from '../core/kinds/parking/processor.js';
import { ProfileProcessor } from './profile/processor.js';

describe('kind processors', () => {
  it('one per built-in kind', () => {
    const p = createKindProcessors(config());
    expect(Object.keys(p)).toEqual(['streetlight', 'groundwater', 'noise', 'parking']);
    expect(p.streetlight).toBeInstanceOf(LightingProcessor);
    expect(p.groundwater).toBeInstanceOf(GroundwaterProcessor);
    expect(p.noise).toBeInstanceOf(NoiseProcessor);
    expect(p.parking).toBeInstanceOf(ParkingProcessor);
  });

  it("plus one per profile kind of the catalog (shipped ones in file name order), each under its processor's kind", () => {
    const shipped = processorsFor(config(), KindCatalog.default());
    expect([...shipped.keys()]).toEqual(['streetlight', 'groundwater', 'noise', 'parking', 'manhole', 'waterlogging']);
    for (const [kind, processor] of shipped) expect(processor.kind).toBe(kind);
    expect(shipped.get('manhole')).toBeInstanceOf(ProfileProcessor);
    expect([...processorsFor(config(), new KindCatalog()).keys()]).toEqual(['streetlight', 'groundwater', 'noise', 'parking']);
  });
});

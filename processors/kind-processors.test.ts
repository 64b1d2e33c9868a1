import { describe, expect, it } from 'vitest';
import { config } from '../test/fixtures.js';
import { GroundwaterProcessor } from '../core/kinds/groundwater/processor.js';
import { processorsFor } from './kind-processors.js';
import { LightingProcessor } from '../core/kinds/streetlight/processor.js';
import { NoiseProcessor } from '../core/kinds/noise/processor.js';
import { ParkingProcessor } from '../core/kinds/parking/processor.js';
import { ProfileProcessor } from './profile/processor.js';
import { defaultKinds, kindCatalog } from '../core/kinds/modules.js';

describe('kind processors', () => {
  it('one per built-in kind', () => {
    const p = processorsFor(config(), kindCatalog());
    expect([...p.keys()]).toEqual(['streetlight', 'groundwater', 'noise', 'parking']);
    expect(p.get('streetlight')).toBeInstanceOf(LightingProcessor);
    expect(p.get('groundwater')).toBeInstanceOf(GroundwaterProcessor);
    expect(p.get('noise')).toBeInstanceOf(NoiseProcessor);
    expect(p.get('parking')).toBeInstanceOf(ParkingProcessor);
  });

  it("plus one per profile kind of the catalog (shipped ones in file name order), each under its processor's kind", () => {
    const shipped = processorsFor(config(), defaultKinds());
    expect([...shipped.keys()]).toEqual(['streetlight', 'groundwater', 'noise', 'parking', 'manhole', 'waterlogging']);
    for (const [kind, processor] of shipped) expect(processor.kind).toBe(kind);
    expect(shipped.get('manhole')).toBeInstanceOf(ProfileProcessor);
    expect([...processorsFor(config(), kindCatalog()).keys()]).toEqual(['streetlight', 'groundwater', 'noise', 'parking']);
  });
});

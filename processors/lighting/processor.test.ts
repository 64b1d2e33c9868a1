import { describe, expect, it } from 'vitest';
import { evaluateWhole } from '../types.js';
import { LightingMerger } from './merge.js';
import type { NodeOf, RegistryNode } from '../../core/index.js';
import { at, ctx, lamp, record } from '../../test/fixtures.js';
import { lampCondition } from './lamp.js';
import { LightingProcessor } from './processor.js';

const NIGHT = at('2026-06-21T23:30:00');
const DAY = at('2026-06-22T12:00:00');

function feed(p: LightingProcessor, nodes: RegistryNode[], reading: (n: RegistryNode, i: number) => object | null, ts: number) {
  nodes.forEach((n, i) => {
    const r = reading(n, i);
    if (r) p.apply(record(n as NodeOf<'streetlight'>, { ts, ...r } as never));
  });
}

describe('lamp condition', () => {
  it('counts silence, off, and under 80 % of (dimmed) rated power as not lit', () => {
    expect(lampCondition(undefined, false, 200)).toBe('no-report');
    expect(lampCondition({ ts: 1, powerState: 'on' }, false, 200)).toBe('no-report');
    expect(lampCondition({ ts: 1, powerState: 'off' }, true, 200)).toBe('reported-off');
    expect(lampCondition({ ts: 1, powerState: 'on', powerW: 159 }, true, 200)).toBe('under-power');
    expect(lampCondition({ ts: 1, powerState: 'on', powerW: 161 }, true, 200)).toBe('lit');
    expect(lampCondition({ ts: 1, powerState: 'on', dim: 50, powerW: 81 }, true, 200)).toBe('lit'); // 0.8 * 100 W
    expect(lampCondition({ ts: 1, powerState: 'low', dim: 50, powerW: 70 }, true, 200)).toBe('under-power');
  });
});

describe('lighting rate', () => {
  it('is lit / should-be-lit, with a lamp that does not report counted as dark', () => {
    // 10 main-road lamps on 10 circuits: 7 lit, 1 off, 1 under power, 1 silent -> 7 / 10.
    const nodes = Array.from({ length: 10 }, (_, i) => lamp(i, { circuit: `C${i}` }));
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(p, nodes, (_, i) => (i === 9 ? null : i === 7 ? { powerState: 'off' } : i === 8 ? { powerState: 'on', powerW: 100 } : { powerState: 'on', powerW: 195 }), NIGHT - 60_000);
    const { kpis, conditions } = evaluateWhole(p, m, ctx(nodes, NIGHT));
    expect(kpis.scheduledOn).toBe(true);
    expect(kpis.rate).toBeCloseTo(0.7, 10);
    expect(kpis).toMatchObject({ lit: 7, expected: 10 });
    expect((kpis.byRoadClass as Record<string, { rate: number; target: number; compliant: boolean }>).main).toMatchObject({ target: 0.99, compliant: false });
    expect(conditions.filter((c) => c.alertname === 'StreetlightOut').map((c) => c.labels.node).sort()).toEqual(['SL-7', 'SL-8', 'SL-9']);
    expect(conditions.filter((c) => c.alertname === 'LightingRateBelowTarget')).toHaveLength(1);
  });

  it('counts a lamp whose last report is older than its interval x grace as dark', () => {
    const nodes = [lamp(1, { circuit: 'A' }), lamp(2, { circuit: 'B' })];
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(p, nodes, () => ({ powerState: 'on', powerW: 200 }), NIGHT - 300_000 * 3 - 1000); // just past 15 min
    p.apply(record(nodes[1] as NodeOf<'streetlight'>, { ts: NIGHT - 1000, powerState: 'on', powerW: 200 }));
    expect(evaluateWhole(p, m, ctx(nodes, NIGHT)).kpis.rate).toBe(0.5);
  });

  it('uses the branch/alley target for branch roads', () => {
    const nodes = Array.from({ length: 20 }, (_, i) => lamp(i, { roadClass: 'branch', circuit: `C${i}` }));
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(p, nodes, (_, i) => ({ powerState: i === 0 ? 'off' : 'on' }), NIGHT); // 19 / 20 = 95 %
    const { kpis, conditions } = evaluateWhole(p, m, ctx(nodes, NIGHT));
    expect((kpis.byRoadClass as Record<string, { rate: number; compliant: boolean }>).branch).toMatchObject({ rate: 0.95, compliant: true });
    expect(conditions.some((c) => c.alertname === 'LightingRateBelowTarget')).toBe(false);
  });

  it('raises one CircuitDark for a circuit mostly dark and no StreetlightOut for its lamps', () => {
    const nodes = [...Array.from({ length: 40 }, (_, i) => lamp(i, { circuit: 'DARK' })), ...Array.from({ length: 10 }, (_, i) => lamp(100 + i, { circuit: 'OK' }))];
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(p, nodes, (n, i) => ({ powerState: n.nodeId === 'SL-100' || (n as { circuit: string }).circuit === 'DARK' && i < 35 ? 'off' : 'on' }), NIGHT);
    const { conditions } = evaluateWhole(p, m, ctx(nodes, NIGHT));
    const circuit = conditions.filter((c) => c.alertname === 'CircuitDark');
    expect(circuit).toHaveLength(1);
    expect(circuit[0]).toMatchObject({ labels: { circuit: 'DARK' }, value: 35 });
    const out = conditions.filter((c) => c.alertname === 'StreetlightOut');
    expect(out.map((c) => c.labels.node)).toEqual(['SL-100']);
  });

  it('does not judge the rate in daytime, keeps last night\'s, and flags lamps on in daylight', () => {
    const nodes = [lamp(1, { circuit: 'A' }), lamp(2, { circuit: 'B' })];
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(p, nodes, (_, i) => ({ powerState: i === 0 ? 'on' : 'off' }), NIGHT);
    expect(evaluateWhole(p, m, ctx(nodes, NIGHT)).kpis.rate).toBe(0.5);
    feed(p, nodes, (_, i) => ({ powerState: i === 0 ? 'on' : 'off' }), DAY - 60_000);
    const { kpis, conditions } = evaluateWhole(p, m, ctx(nodes, DAY));
    expect(kpis).toMatchObject({ scheduledOn: false, rate: 0.5, rateAt: NIGHT, expected: 0, onInDaytime: 1 });
    expect(conditions.map((c) => c.alertname)).toEqual(['StreetlightOnInDaytime']);
  });

  it('leaves lamps never heard from out of the rate during warm-up, and counts them dark after it', () => {
    const nodes = [lamp(1, { circuit: 'A' }), lamp(2, { circuit: 'B' })];
    const p = new LightingProcessor();
    const m = new LightingMerger();
    p.apply(record(nodes[0] as NodeOf<'streetlight'>, { ts: NIGHT, powerState: 'on' }));
    const early = evaluateWhole(p, m, ctx(nodes, NIGHT + 60_000, {}, NIGHT));
    expect(early.kpis).toMatchObject({ rate: 1, lit: 1, expected: 1, unknown: 1 });
    expect(early.conditions).toEqual([]);
    // 300 s interval x 3 grace after the pipeline started listening: lamp 2 is now dark.
    p.apply(record(nodes[0] as NodeOf<'streetlight'>, { ts: NIGHT + 900_000, powerState: 'on' }));
    const later = evaluateWhole(p, m, ctx(nodes, NIGHT + 900_000, {}, NIGHT));
    expect(later.kpis).toMatchObject({ rate: 0.5, unknown: 0 });
    expect(later.conditions.map((c) => c.labels.node)).toContain('SL-2');
  });
});

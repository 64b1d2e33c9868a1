import { describe, expect, it } from 'vitest';
import { parseTopic } from './topics.js';
import { defaultKinds } from '../core/kinds/modules.js';

const kinds = defaultKinds();

describe('topic contract', () => {
  it('parses telemetry, status and gateway batch topics', () => {
    expect(parseTopic('city/Lixia/waterlogging/WL-1/telemetry', kinds)).toMatchObject({ type: 'telemetry', kind: 'waterlogging' });
    expect(parseTopic('city/Lixia/streetlight/SL-LX-000001/telemetry', kinds)).toEqual({
      type: 'telemetry',
      district: 'Lixia',
      kind: 'streetlight',
      nodeId: 'SL-LX-000001',
    });
    expect(parseTopic('city/Lixia/noise/NS-1/status', kinds)).toMatchObject({ type: 'status', nodeId: 'NS-1' });
    expect(parseTopic('city/gateways/GW-7/batch', kinds)).toEqual({ type: 'batch', gatewayId: 'GW-7' });
  });
  it('rejects everything else with a reason', () => {
    expect(parseTopic('town/Lixia/streetlight/SL-1/telemetry', kinds)).toMatchObject({ reason: 'bad-topic' });
    expect(parseTopic('city/Lixia/streetlight/SL-1', kinds)).toMatchObject({ reason: 'bad-topic' });
    expect(parseTopic('city/Lixia/streetlight/SL-1/telemetry/extra', kinds)).toMatchObject({ reason: 'bad-topic' });
    expect(parseTopic('city/Lixia/toaster/SL-1/telemetry', kinds)).toMatchObject({ reason: 'unknown-kind' });
    expect(parseTopic('city/Lixia/streetlight/SL 1/telemetry', kinds)).toMatchObject({ reason: 'bad-topic' });
    expect(parseTopic('city/gateways//batch', kinds)).toMatchObject({ reason: 'bad-topic' });
  });
});

import { describe, expect, it } from 'vitest';
import { parseTopic } from './topics.js';

describe('topic contract', () => {
  it('parses telemetry, status and gateway batch topics', () => {
    expect(parseTopic('city/Lixia/streetlight/SL-LX-000001/telemetry')).toEqual({ type: 'telemetry', district: 'Lixia', kind: 'streetlight', nodeId: 'SL-LX-000001' });
    expect(parseTopic('city/Lixia/noise/NS-1/status')).toMatchObject({ type: 'status', nodeId: 'NS-1' });
    expect(parseTopic('city/gateways/GW-7/batch')).toEqual({ type: 'batch', gatewayId: 'GW-7' });
  });
  it('rejects everything else with a reason', () => {
    expect(parseTopic('town/Lixia/streetlight/SL-1/telemetry')).toMatchObject({ reason: 'bad-topic' });
    expect(parseTopic('city/Lixia/streetlight/SL-1')).toMatchObject({ reason: 'bad-topic' });
    expect(parseTopic('city/Lixia/streetlight/SL-1/telemetry/extra')).toMatchObject({ reason: 'bad-topic' });
    expect(parseTopic('city/Lixia/toaster/SL-1/telemetry')).toMatchObject({ reason: 'unknown-kind' });
    expect(parseTopic('city/Lixia/streetlight/SL 1/telemetry')).toMatchObject({ reason: 'bad-topic' });
    expect(parseTopic('city/gateways//batch')).toMatchObject({ reason: 'bad-topic' });
  });
});

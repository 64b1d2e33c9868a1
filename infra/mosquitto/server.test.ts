/** Against a real Mosquitto (Debian's package as a local process). */
import { existsSync } from 'node:fs';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../process.js';
import { startMosquitto } from './server.js';

describe('Mosquitto (real server)', () => {
  it('starts on loopback, passes a QoS 1 message to a subscriber, and stops without leftovers', async () => {
    const m = await startMosquitto();
    try {
      expect(m.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      const sub = await connectAsync(m.url, { clientId: 'mosq-test-sub' });
      const pub = await connectAsync(m.url, { clientId: 'mosq-test-pub' });
      await sub.subscribeAsync('city/#', { qos: 1 });
      const got = new Promise<string>((resolve) => sub.on('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)));
      await pub.publishAsync('city/Lixia/noise/NS-1/telemetry', '{"ts":1,"laeq":50}', { qos: 1 });
      expect(await got).toBe('city/Lixia/noise/NS-1/telemetry {"ts":1,"laeq":50}');
      await Promise.all([sub.endAsync(), pub.endAsync()]);
    } finally {
      await m.stop();
    }
    expect(isAlive(m.pid)).toBe(false);
    expect(existsSync(m.dataDir)).toBe(false);
  }, 300_000);
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('config', () => {
  it('needs nothing for the embedded default', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      MQTT_PORT: 1883,
      HTTP_PORT: 8080,
      MQTT_AUTH: 'on',
      LIGHTING_TARGET_MAIN: 0.99,
      LIGHTING_TARGET_BRANCH: 0.95,
    });
    expect(c.KAFKA_BROKERS).toBeUndefined();
  });

  it('stops with one line naming the bad variable', () => {
    const error = (() => {
      try {
        loadConfig({ HTTP_PORT: 'eighty' });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/^invalid configuration: HTTP_PORT: .*"eighty"/);
    expect(error!.message).not.toContain('\n');
  });

  it('names every bad variable and never echoes a token', () => {
    let message = '';
    try {
      loadConfig({ MQTT_PORT: '70000', LOG_LEVEL: 'loud', API_TOKENS: 'root:supersecretsupersecret' });
    } catch (e) {
      message = (e as Error).message;
    }
    for (const name of ['MQTT_PORT', 'LOG_LEVEL', 'API_TOKENS']) expect(message).toContain(`${name}: `);
    expect(message).not.toContain('supersecret');
  });

  it('parses broker lists and API tokens', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'k1:9092, k2:9093', API_TOKENS: 'viewer:0123456789abcdef,crew:fedcba9876543210' });
    expect(c.KAFKA_BROKERS).toEqual(['k1:9092', 'k2:9093']);
    expect(c.API_TOKENS?.get('fedcba9876543210')).toBe('crew');
    expect(() => loadConfig({ KAFKA_BROKERS: 'localhost' })).toThrow(/KAFKA_BROKERS: each broker must be host:port/);
    // Kafka's brokers refuse a session under 6 s; over 25 s a takeover would not fit in 30 s.
    expect(loadConfig({}).AGGREGATOR_SESSION_TIMEOUT_S).toBe(10);
    expect(() => loadConfig({ AGGREGATOR_SESSION_TIMEOUT_S: '5' })).toThrow(/AGGREGATOR_SESSION_TIMEOUT_S/);
    expect(() => loadConfig({ AGGREGATOR_SESSION_TIMEOUT_S: '26' })).toThrow(/AGGREGATOR_SESSION_TIMEOUT_S/);
  });

  it('chooses the Kafka client: kafkajs unless KAFKA_CLIENT names another known one', () => {
    expect(loadConfig({}).KAFKA_CLIENT).toBe('kafkajs');
    expect(loadConfig({ KAFKA_CLIENT: 'platformatic' }).KAFKA_CLIENT).toBe('platformatic');
    expect(() => loadConfig({ KAFKA_CLIENT: 'rdkafka' })).toThrow(/KAFKA_CLIENT: /);
  });

  it('treats empty variables as unset and refuses half an InfluxDB setup', () => {
    expect(loadConfig({ HTTP_PORT: '' }).HTTP_PORT).toBe(8080);
    expect(() => loadConfig({ INFLUX_URL: 'http://127.0.0.1:8086' })).toThrow(/INFLUX_URL: also needs INFLUX_TOKEN/);
  });

  it('refuses half a TLS setup and a packet limit below the batch limit', () => {
    expect(() => loadConfig({ MQTT_TLS_PORT: '8883' })).toThrow(/MQTT_TLS_PORT: also needs MQTT_TLS_CERT and MQTT_TLS_KEY/);
    expect(() => loadConfig({ MQTT_MAX_PACKET_BYTES: '4096', MAX_BATCH_BYTES: '8192' })).toThrow(
      /MQTT_MAX_PACKET_BYTES: must be larger than MAX_BATCH_BYTES/,
    );
    expect(loadConfig({ CORS_ORIGINS: 'https://ops.example.org, http://localhost:3000' }).CORS_ORIGINS).toEqual([
      'https://ops.example.org',
      'http://localhost:3000',
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: 'ops.example.org' })).toThrow(/CORS_ORIGINS: each origin/);
  });

  it('refuses a future skew a device could use to make every other reading on its partition late', () => {
    expect(() => loadConfig({ MAX_FUTURE_SKEW_S: '7200' })).toThrow(/MAX_FUTURE_SKEW_S: must be less than ALLOWED_LATENESS_S \(3600\)/);
    expect(() => loadConfig({ MAX_FUTURE_SKEW_S: '600', ALLOWED_LATENESS_S: '600' })).toThrow(/MAX_FUTURE_SKEW_S/);
    expect(loadConfig({ MAX_FUTURE_SKEW_S: '7200', ALLOWED_LATENESS_S: '10800' })).toMatchObject({ MAX_FUTURE_SKEW_S: 7200 });
  });

  it('bounds the allowed lateness by what the noise minutes keep, and defaults the state directory', () => {
    expect(loadConfig({})).toMatchObject({ ALLOWED_LATENESS_S: 3600, STATE_SNAPSHOT_INTERVAL_MS: 120_000, STATE_DIR: '.city-brain/state' });
    expect(() => loadConfig({ ALLOWED_LATENESS_S: '86400' })).toThrow(/ALLOWED_LATENESS_S/);
  });

  it("bounds the sinks' timings, each error one line naming the setting", () => {
    expect(loadConfig({})).toMatchObject({ ALERTMANAGER_RESEND_S: 60, INFLUX_RETRY_WITHIN_S: 15, GRAFANA_RETRY_MAX_MS: 5000 });
    for (const [name, value] of [
      ['ALERTMANAGER_RESEND_S', '0'],
      ['ALERTMANAGER_RESEND_S', '3601'],
      ['ALERTMANAGER_RESEND_S', '1.5'],
      ['INFLUX_TIMEOUT_MS', '50'],
      ['INFLUX_RETRY_WITHIN_S', 'soon'],
      ['GRAFANA_RETRY_MAX_MS', '600001'],
      ['ALERTMANAGER_REPLAY_RESOLVED_MAX_AGE_S', '-1'],
    ]) {
      expect(() => loadConfig({ [name!]: value })).toThrow(new RegExp(`^invalid configuration: ${name}: [^\\n]*\\(got "${value}"\\)$`));
    }
    for (const sink of ['INFLUX', 'ALERTMANAGER', 'GRAFANA']) {
      expect(() => loadConfig({ [`${sink}_RETRY_MIN_MS`]: '2000', [`${sink}_RETRY_MAX_MS`]: '1000' })).toThrow(
        `invalid configuration: ${sink}_RETRY_MIN_MS: must be at most ${sink}_RETRY_MAX_MS (1000) (got 2000)`,
      );
    }
    expect(loadConfig({ ALERTMANAGER_RESEND_S: '1', ALERTMANAGER_RETRY_MIN_MS: '800', ALERTMANAGER_RETRY_MAX_MS: '800' })).toMatchObject({
      ALERTMANAGER_RESEND_S: 1,
      ALERTMANAGER_RETRY_MIN_MS: 800,
    });
  });
});

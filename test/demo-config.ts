import { loadConfig, type Config } from '../core/index.js';
import { DEMO_DEFAULTS } from '../bin/demo.js';
import { freshStateDir } from './helpers.js';

/** The demo's config for a test: loopback, ephemeral ports, quiet, a fresh state directory, then the test's own settings. */
export function demoTestConfig(settings: Record<string, string> = {}): Config {
  return loadConfig({
    ...DEMO_DEFAULTS,
    MQTT_HOST: '127.0.0.1',
    HTTP_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    STATE_DIR: freshStateDir(),
    ...settings,
  });
}

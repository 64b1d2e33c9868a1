import type { Logger } from 'pino';
import type { Config, NodeRegistry } from '../../core/index.js';
import { CredentialStore } from './credentials.js';

export * from './credentials.js';
export { principalOf } from './principals.js';

export interface MqttAuth {
  store: CredentialStore;
  /** Stops watching the credentials file. */
  close(): void;
}

/**
 * The broker's credentials as configured: MQTT_AUTH=off is explicit and warned about; with auth on
 * and no MQTT_CREDENTIALS the broker still starts (the API and dashboards work) but refuses every
 * device, and says how to provision. The file is re-read when it changes (checked every
 * `watchMs`), so a provisioning run or a revocation takes effect without a restart.
 */
export async function loadMqttAuth(config: Config, registry: NodeRegistry, logger: Logger, watchMs = 5_000): Promise<MqttAuth | undefined> {
  if (config.MQTT_AUTH === 'off') {
    logger.warn('MQTT_AUTH=off: any client may connect and publish as any device; use only on a trusted network');
    return undefined;
  }
  if (!config.MQTT_CREDENTIALS) {
    logger.warn(
      'MQTT_AUTH is on and MQTT_CREDENTIALS is not set: every MQTT connection will be refused. Provision devices with ' +
        '`city-brain credentials --out credentials.json --secrets device-secrets.json` and set MQTT_CREDENTIALS=credentials.json ' +
        '(or set MQTT_AUTH=off explicitly on a trusted network)',
    );
    return { store: new CredentialStore(), close: () => undefined };
  }
  const store = await CredentialStore.fromFile(config.MQTT_CREDENTIALS);
  const stale = store.unknownIn(registry);
  logger.info({ file: config.MQTT_CREDENTIALS, ...store.summary() }, 'mqtt credentials loaded');
  if (stale.length > 0)
    logger.warn(
      { count: stale.length, examples: stale.slice(0, 5) },
      'credentials for ids the registry does not know (their readings would be rejected)',
    );
  const timer = setInterval(() => {
    store.reloadIfChanged().then(
      (changed) => changed && logger.info({ file: config.MQTT_CREDENTIALS, ...store.summary() }, 'mqtt credentials reloaded'),
      (error: unknown) => logger.error({ err: (error as Error).message }, 'mqtt credentials not reloaded; the previous ones stay in force'),
    );
  }, watchMs);
  timer.unref();
  return { store, close: () => clearInterval(timer) };
}

/** The credential store of a running ingest in this process, for the admin API (same config object). */
const stores = new WeakMap<object, CredentialStore>();
export function registerStore(key: object, store: CredentialStore): void {
  stores.set(key, store);
}
export function storeFor(key: object): CredentialStore | undefined {
  return stores.get(key);
}
export { loadDeviceSecrets, provisionFile, secretsToJson, type DeviceSecret } from './provision-file.js';

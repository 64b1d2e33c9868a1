import { Counter } from '@prometheus-io/client';
import type { PipelineMetrics } from '../../core/index.js';

export type RefusalCause =
  | 'bad-credentials'
  | 'no-credentials'
  | 'client-id'
  | 'keepalive'
  | 'rate-limit'
  | 'packet-too-large'
  | 'connect-too-large'
  | 'auth-busy'
  | 'auth-backoff'
  | 'revoked';

const counters = new WeakMap<PipelineMetrics, Counter<'cause'>>();

/** `citybrain_mqtt_refused_total{cause}`: connections the broker refused or closed by policy. */
export function refusalCounter(metrics: PipelineMetrics): Counter<'cause'> {
  let counter = counters.get(metrics);
  if (!counter) {
    counter = new Counter({
      name: 'citybrain_mqtt_refused_total',
      help: 'MQTT connections refused or closed by policy (credentials, client id, keep-alive, connection rate, packet size, credentials revoked or rotated while connected), by cause',
      labelNames: ['cause'],
      registers: [metrics.registry],
    });
    counters.set(metrics, counter);
  }
  return counter;
}

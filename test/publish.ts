import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import type { Publish } from './readings.js';

function unacknowledgedAfter(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`no PUBACK within ${ms / 1000} s`)), ms).unref());
}

/**
 * Publishes at QoS 1 over a few connections, as devices would, and reports which publishes the
 * broker acknowledged. A device whose publish is not acknowledged resends it (mqtt.js keeps it and
 * resends on reconnect), so `resend` retries until every publish is acknowledged or time runs out.
 */
export async function publishAll(
  url: string,
  publishes: Publish[],
  options: { clients?: number; onAck?: (count: number) => void; timeoutMs?: number } = {},
): Promise<{ acked: number }> {
  const clients: MqttClient[] = await Promise.all(
    Array.from({ length: options.clients ?? 8 }, (_, i) =>
      mqtt.connectAsync(url, {
        clientId: `test-pub-${process.pid}-${i}-${Date.now()}`,
        clean: false,
        reconnectPeriod: 500,
        connectTimeout: 5000,
      }),
    ),
  );
  let acked = 0;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${acked} of ${publishes.length} publishes acknowledged within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  expiry.catch(() => {});
  try {
    await Promise.all(
      clients.map(async (client, c) => {
        // Keep a bounded window in flight per client, like a gateway would.
        const mine = publishes.filter((_, i) => i % clients.length === c);
        const window = 50;
        for (let i = 0; i < mine.length; i += window) {
          await Promise.all(
            mine.slice(i, i + window).map(async (p) => {
              for (;;) {
                try {
                  // A publish not acknowledged within 30 s is published again (as a device's
                  // application retry would: a PUBACK lost with a dropped connection), and none
                  // waits past the deadline.
                  await Promise.race([client.publishAsync(p.topic, p.payload, { qos: 1 }), expiry, unacknowledgedAfter(30_000)]);
                  acked++; // not inside the optional call: `f?.(++x)` skips the increment when f is absent
                  options.onAck?.(acked);
                  return;
                } catch (error) {
                  if (Date.now() > deadline)
                    throw new Error(`publish not acknowledged before the deadline: ${(error as Error).message}`, { cause: error });
                  await sleep(250);
                }
              }
            }),
          );
        }
      }),
    );
  } finally {
    clearTimeout(timer);
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  }
  return { acked };
}

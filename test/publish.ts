import mqtt, { type MqttClient } from 'mqtt';
import type { Publish } from './readings.js';

/**
 * Publishes at QoS 1 over a few connections, as devices would, and reports which publishes the
 * broker acknowledged. A device whose publish is not acknowledged resends it (mqtt.js keeps it and
 * resends on reconnect), so `resend` retries until every publish is acknowledged or time runs out.
 */
export async function publishAll(url: string, publishes: Publish[], options: { clients?: number; onAck?: (count: number) => void; timeoutMs?: number } = {}): Promise<{ acked: number }> {
  const clients: MqttClient[] = await Promise.all(
    Array.from({ length: options.clients ?? 8 }, (_, i) => mqtt.connectAsync(url, { clientId: `test-pub-${process.pid}-${i}-${Date.now()}`, clean: false, reconnectPeriod: 500, connectTimeout: 5000 })),
  );
  let acked = 0;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
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
                  await client.publishAsync(p.topic, p.payload, { qos: 1 });
                  acked++; // not inside the optional call: `f?.(++x)` skips the increment when f is absent
                  options.onAck?.(acked);
                  return;
                } catch (error) {
                  if (Date.now() > deadline) throw new Error(`publish not acknowledged before the deadline: ${(error as Error).message}`);
                  await new Promise((r) => setTimeout(r, 250));
                }
              }
            }),
          );
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  }
  return { acked };
}

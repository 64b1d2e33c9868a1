import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { PipelineMetrics } from '../core/index.js';
import type { TelemetryBridge } from './bridge.js';

export interface BrokerOptions {
  host: string;
  port: number;
  /** Publishes waiting for the log at most; beyond, publishes are refused unacknowledged. */
  maxInflight: number;
  bridge: TelemetryBridge;
  metrics: PipelineMetrics;
  logger: Logger;
}

export interface RunningBroker {
  readonly port: number;
  readonly aedes: Aedes;
  close(): Promise<void>;
}

/**
 * The embedded MQTT broker. Policy lives in aedes' hooks: `authorizePublish` hands every publish
 * to the bridge and calls back only after the log append, so aedes sends PUBACK after the log has
 * the reading; a failed append errors the publish (the client is disconnected without PUBACK and
 * resends). Rejected payloads are acknowledged (resending cannot fix them) but never forwarded to
 * subscribers or retained.
 */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { bridge, logger, metrics, maxInflight } = options;
  const rejectedPayloads = new WeakSet<Buffer>();
  // Backpressure when the log is slow or away. aedes reads a client's socket again only once every
  // publish of the previous read has been called back, so a waiting append already stops that
  // client (TCP pushes back to the device). Across all clients at most maxInflight publishes wait;
  // beyond that a publish is refused without PUBACK (the device resends it) and counted.
  let inflight = 0;
  const settle = () => metrics.ingestInflight.set(--inflight);
  const aedes = new Aedes({
    authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) {
      if (packet.topic.startsWith('$SYS/')) return callback(new Error('$SYS/ topics are reserved'));
      if (inflight >= maxInflight) {
        metrics.ingestRefused.inc({ cause: 'buffer-full' });
        return callback(new Error(`ingest buffer full (${inflight} publishes waiting for the log)`));
      }
      metrics.ingestInflight.set(++inflight);
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      bridge.handle(packet.topic, payload, client?.id).then(
        (result) => {
          settle();
          if (result.rejected > 0 && result.accepted === 0) {
            packet.retain = false;
            rejectedPayloads.add(packet.payload as Buffer);
          }
          callback(null);
        },
        (error: unknown) => {
          settle();
          metrics.ingestRefused.inc({ cause: 'append-failed' });
          logger.warn({ err: error, topic: packet.topic, clientId: client?.id }, 'log append failed; publish not acknowledged');
          callback(error instanceof Error ? error : new Error(String(error)));
        },
      );
    },
    authorizeForward(_client: Client, packet: AedesPublishPacket) {
      return rejectedPayloads.has(packet.payload as Buffer) ? null : packet;
    },
  });
  aedes.on('client', () => metrics.mqttClients.inc());
  aedes.on('clientDisconnect', () => metrics.mqttClients.dec());
  aedes.on('clientError', (client: Client, error: Error) => logger.debug({ clientId: client.id, err: error.message }, 'mqtt client error'));
  aedes.on('connectionError', (client: Client, error: Error) => logger.debug({ clientId: client?.id, err: error.message }, 'mqtt connection error'));
  await aedes.listen();

  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, 'mqtt broker listening');

  return {
    port,
    aedes,
    async close() {
      // aedes first: it ends the client connections server.close() would otherwise wait for.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

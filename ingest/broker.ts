import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Aedes, type AedesPublishPacket, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import { withDefaults, type NodeRegistry, type PipelineMetrics } from '../core/index.js';
import { authenticate, preConnect } from './auth/authenticate.js';
import { ConnectLimiter } from './auth/connect-limit.js';
import type { CredentialStore } from './auth/credentials.js';
import { LoginGate } from './auth/login-gate.js';
import { guardPacketSize, wireSize } from './auth/packet-guard.js';
import { principalOf } from './auth/principals.js';
import { publishPolicy } from './auth/publish-policy.js';
import { refusalCounter } from './auth/refusals.js';
import { forwardPolicy } from './auth/forward-policy.js';
import { guardSubscribeFilters } from './auth/subscribe-guard.js';
import { subscribeAllowed } from './auth/subscribe-policy.js';
import { DEFAULT_SESSION_LIMITS, SubscriptionLedger, type SessionLimits } from './session-limits.js';
import { SessionStore } from './session-store.js';
import type { BridgeResult, PublishScope, Sender, TelemetryBridge } from './bridge.js';
import { userPropertyHeaders, type UserPropertyLimits } from './user-properties.js';
import { disconnectPacket, noteConnect, refusePublish, type IngestRejectReason } from './reason-codes.js';
import { ReceiveWindow } from './receive-window.js';

export interface BrokerOptions {
  host: string;
  port: number;
  /** Publishes waiting for the log at most; beyond, publishes are refused unacknowledged. */
  maxInflight: number;
  bridge: TelemetryBridge;
  metrics: PipelineMetrics;
  logger: Logger;
  /** MQTT_AUTH=on: credentials and the registry authorization checks against; absent: anyone may publish anything. */
  auth?: { store: CredentialStore; registry: NodeRegistry };
  /** A second listener speaking MQTT over TLS (PEM certificate chain and key). */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
  /** Largest MQTT packet; a client announcing a larger one is disconnected (default 2 MiB). */
  maxPacketBytes?: number;
  /** New connections per client IP (token bucket; default 50/s, burst 500). */
  connectRate?: { perSecond: number; burst: number };
  /** Largest keep-alive a client may announce (s); 0 is refused too (default 3600). */
  keepaliveMaxS?: number;
  /** Largest first packet (CONNECT) before authentication (default 4096); beyond, the socket is closed. */
  maxConnectBytes?: number;
  /** Password checks waiting or running at most, and the backoff after failed logins (defaults: 128; 5 per username, 50 per prefix, at most 60 s). */
  login?: { queueMax: number; usernameFailures: number; prefixFailures: number; backoffMaxMs: number };
  /** Filters per SUBSCRIBE and per client, and the queue of a persistent session (count, bytes). */
  sessions?: SessionLimits;
  /** MQTT 5 user properties of one publish kept as record headers at most (count, bytes of names and values; defaults 16, 1024). */
  userProperties?: UserPropertyLimits;
  /** MQTT 5 Receive Maximum: QoS 1/2 publishes one client may have unanswered, announced in the CONNACK and enforced (default 32). */
  receiveMaximum?: number;
  /** MQTT 5: longest Session Expiry Interval granted (s; default one day); a client asking more gets this, told in the CONNACK. */
  sessionExpiryMaxS?: number;
}

/** The broker's defaults (the stages set most of them from config). */
export const BROKER_DEFAULTS = {
  maxPacketBytes: 2_097_152,
  connectRate: { perSecond: 50, burst: 500 },
  keepaliveMaxS: 3600,
  maxConnectBytes: 4_096,
  login: { queueMax: 128, usernameFailures: 5, prefixFailures: 50, backoffMaxMs: 60_000 },
  sessions: DEFAULT_SESSION_LIMITS,
  userProperties: { maxCount: 16, maxBytes: 1024 },
  receiveMaximum: 32,
  sessionExpiryMaxS: 86_400,
};

export interface RunningBroker {
  readonly port: number;
  readonly tlsPort: number | undefined;
  readonly aedes: Aedes;
  close(): Promise<void>;
}

/**
 * The embedded MQTT broker. Policy lives in aedes' hooks, each a small module of ./auth:
 * `preConnect`/`authenticate` (credentials, client id = username, keep-alive range),
 * `authorizeSubscribe` (own topics only) and the publish policy below; connection rate and packet
 * size are checked on the raw socket. `authorizePublish` hands every publish
 * to the bridge and calls back only after the log append, so aedes sends PUBACK after the log has
 * the reading; a failed append errors the publish (the client is disconnected without PUBACK and
 * resends). Rejected payloads are refused for good (resending cannot fix them), never forwarded to
 * subscribers or retained: MQTT 5 with the reason code of their dead-letter reason
 * (./reason-codes.ts), 3.1/3.1.1 (no reason codes) acknowledged with success. An empty retained
 * publish clears the retained message and is no reading.
 */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { bridge, logger, metrics, maxInflight, auth } = options;
  const o = withDefaults(BROKER_DEFAULTS, options);
  const { maxPacketBytes, connectRate, keepaliveMaxS, maxConnectBytes, login, sessions, userProperties, receiveMaximum } = o;
  const rejectedPayloads = new WeakSet<Buffer>();
  const refusals = refusalCounter(metrics);
  const mayPublish = auth ? publishPolicy(auth.registry) : undefined;
  // Backpressure when the log is slow or away. aedes reads a client's socket again only once every
  // publish of the previous read has been called back, so a waiting append already stops that
  // client (TCP pushes back to the device). Across all clients at most maxInflight publishes wait;
  // beyond that a publish is refused without PUBACK (the device resends it) and counted.
  let inflight = 0;
  const settle = () => metrics.ingestInflight.set(--inflight);
  // Subscriptions and sessions: a client holds at most maxFiltersPerClient filters; only granted
  // filters are stored, each once (linear); a persistent session's queue is bounded; and every
  // delivery is authorized for its receiver (authorizeForward), so nothing reaches a client that
  // may not subscribe to the topic now, whatever the session store kept.
  const ledger = new SubscriptionLedger({ maxFilters: sessions.maxFiltersPerClient });
  const persistence = new SessionStore({
    ledger,
    limits: { maxMessages: sessions.queueMax, maxBytes: sessions.queueMaxBytes },
    dropped: (cause, n) =>
      metrics.limitHits.inc({ limit: cause === 'count' ? 'MQTT_SESSION_QUEUE_MAX' : 'MQTT_SESSION_QUEUE_MAX_BYTES' }, n),
    released: (client, messageId) => receiveWindow.released(client, messageId),
  });
  const mayReceive = auth ? forwardPolicy(auth.store) : undefined;
  const receiveWindow = new ReceiveWindow(receiveMaximum);
  /** An MQTT 5 publish's user properties as record headers, bounded (cuts counted under the setting's name). */
  const headersOf = (packet: PublishPacket): { headers?: Record<string, string> } => {
    const { headers, cut } = userPropertyHeaders(packet.properties?.userProperties, userProperties);
    if (cut.count > 0) metrics.limitHits.inc({ limit: 'MQTT_MAX_USER_PROPERTIES' }, cut.count);
    if (cut.bytes > 0) metrics.limitHits.inc({ limit: 'MQTT_MAX_USER_PROPERTY_BYTES' }, cut.bytes);
    return headers ? { headers } : {};
  };
  const checkConnect = preConnect({ keepaliveMaxS, refused: (cause) => refusals.inc({ cause }) });
  const aedes = new Aedes({
    // MQTT 5: announced in the CONNACK. The Receive Maximum is enforced by ReceiveWindow (aedes does
    // not); the packet size by guardPacketSize first (and aedes, for the same bound).
    receiveMaximum,
    maximumPacketSize: wireSize(maxPacketBytes),
    // A session outlives its connection at most this long; its queue stays bounded by the session limits.
    sessionExpiryIntervalLimit: o.sessionExpiryMaxS,
    preConnect(client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void) {
      noteConnect(client, packet);
      checkConnect(client, packet, callback);
    },
    authenticate: authenticate({
      store: auth?.store,
      keepaliveMaxS,
      refused: (cause) => refusals.inc({ cause }),
      logger,
      gate: new LoginGate(login),
      limitHit: (limit) => metrics.limitHits.inc({ limit }),
    }),
    persistence,
    authorizeSubscribe(
      client: Client,
      subscription: Subscription,
      callback: (error: Error | null, subscription?: Subscription | null) => void,
    ) {
      // null: a failed SUBACK for this filter; the connection stays.
      if (auth) {
        const principal = principalOf(client);
        if (!principal || !subscribeAllowed(principal, subscription.topic)) return callback(null, null);
      }
      if (!ledger.grant(client, subscription)) {
        metrics.limitHits.inc({ limit: 'MQTT_MAX_FILTERS_PER_CLIENT' });
        return callback(null, null);
      }
      callback(null, subscription);
    },
    authorizePublish(client: Client | null, packet: PublishPacket, answer: (error?: Error | null) => void) {
      // MQTT 5 Receive Maximum (a will, published as its client closes, is no publish in flight).
      const windowed = client?.version === 5 && !client.closed && packet.qos > 0 ? client : undefined;
      if (windowed && !receiveWindow.open(windowed, packet)) {
        metrics.limitHits.inc({ limit: 'MQTT_RECEIVE_MAXIMUM' });
        const error = new Error(`more than Receive Maximum (${receiveWindow.max}) publishes unanswered`);
        return unacknowledged(windowed, RECEIVE_MAXIMUM_EXCEEDED, error, answer);
      }
      /** Answers the publish; its slot in the window closes, unless it is QoS 2 and now waits for its PUBREL. */
      const callback = (error?: Error | null, refused = false) => {
        if (windowed && (packet.qos === 1 || error || refused)) receiveWindow.answered(windowed, packet);
        answer(error);
      };
      if (packet.topic.startsWith('$SYS/')) return callback(new Error('$SYS/ topics are reserved'));
      if (inflight >= maxInflight) {
        metrics.ingestRefused.inc({ cause: 'buffer-full' });
        return unacknowledged(client, SERVER_BUSY, new Error(`ingest buffer full (${inflight} publishes waiting for the log)`), callback);
      }
      // With auth, a publish outside the sender's own topics is refused for good (resending cannot
      // fix it; 3.1/3.1.1: acknowledged, 5: 0x87), dead-lettered as `unauthorized` and never
      // forwarded; a client is null only for the broker's own publishes.
      let refusal: { detail: string; nodeId?: string } | undefined;
      let scope: PublishScope | undefined;
      if (mayPublish && client) {
        const principal = principalOf(client);
        // Revoked or rotated while connected (before the reload closed the session): not acknowledged, and closed now.
        if (principal && !auth!.store.active(principal)) {
          endRevoked(client, () => callback(new Error(`${principal.type} ${principal.id}: credentials revoked`)));
          return;
        }
        const decision = principal ? mayPublish(principal, packet.topic) : { allowed: false as const, detail: 'unauthenticated client' };
        if (decision.allowed) scope = decision;
        else refusal = decision;
      }
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      // An empty retained publish clears the topic's retained message (MQTT-3.3.1-10/11): not a
      // reading, so nothing goes to the log; only the sender's own topics (a refusal dead-letters it
      // below and retains nothing).
      if (packet.retain && payload.length === 0 && !refusal) {
        metrics.retainedCleared.inc();
        return callback(null);
      }
      metrics.ingestInflight.set(++inflight);
      const from: Sender = { ...(client ? { clientId: client.id } : {}), ...headersOf(packet) };
      const handled: Promise<BridgeResult> = refusal
        ? bridge
            .refuse(packet.topic, payload, from, refusal.detail, refusal.nodeId)
            .then(() => ({ accepted: 0, rejected: 1, reason: 'unauthorized' }))
        : bridge.handle(packet.topic, payload, from, scope);
      handled.then(
        (result) => {
          settle();
          // MQTT 5 says why (the device learns its readings are refused); 3.1/3.1.1 cannot, so
          // there it is acknowledged with success. Either way it is neither forwarded nor retained.
          // A will (published as its client closes) has no acknowledgement either.
          const refused = result.rejected > 0 && result.accepted === 0;
          const withCode = refused && client?.version === 5 && !client.closed;
          if (withCode) refusePublish(client, packet, result.reason as IngestRejectReason);
          else if (refused) {
            packet.retain = false;
            rejectedPayloads.add(packet.payload as Buffer);
          }
          callback(null, withCode);
        },
        (error: unknown) => {
          settle();
          metrics.ingestRefused.inc({ cause: 'append-failed' });
          logger.warn({ err: error, topic: packet.topic, clientId: client?.id }, 'log append failed; publish not acknowledged');
          unacknowledged(client, SERVER_BUSY, error instanceof Error ? error : new Error(String(error)), callback);
        },
      );
    },
    authorizeForward(client: Client, packet: AedesPublishPacket) {
      if (rejectedPayloads.has(packet.payload as Buffer)) return null;
      const refused = mayReceive?.(client, packet.topic);
      if (refused) {
        metrics.mqttForwardRefused.inc({ cause: refused });
        return null;
      }
      return packet;
    },
  });
  // aedes' own count: a client taken over by a new connection with its id is unregistered before
  // the new one registers, so the gauge never counts a session twice.
  aedes.on('client', () => metrics.mqttClients.set(aedes.connectedClients));
  aedes.on('clientDisconnect', () => metrics.mqttClients.set(aedes.connectedClients));
  aedes.on('sessionExpired', () => metrics.mqttSessionsExpired.inc());
  aedes.on('unsubscribe', (filters: string[], client: Client) => ledger.released(client, filters));
  aedes.on('clientError', (client: Client, error: Error) => logger.debug({ clientId: client.id, err: error.message }, 'mqtt client error'));
  aedes.on('connectionError', (client: Client, error: Error) =>
    logger.debug({ clientId: client?.id, err: error.message }, 'mqtt connection error'),
  );
  /** A session whose credentials are no longer in force (revoked, removed, rotated) is closed; its reconnects are refused at login. */
  const endRevoked = (client: Client, closed?: () => void) => {
    refusals.inc({ cause: 'revoked' });
    logger.info({ clientId: client.id }, 'mqtt session closed: its credentials were revoked or rotated');
    client.disconnect({ reasonCode: NOT_AUTHORIZED }, closed);
  };
  const stopWatching = auth?.store.onChange(() => {
    // aedes keeps its connected clients by id (not in its typings).
    for (const client of Object.values((aedes as unknown as { clients: Record<string, Client> }).clients)) {
      const principal = principalOf(client);
      if (principal && !auth.store.active(principal)) endRevoked(client);
    }
  });
  aedes.on('keepaliveTimeout', (client: Client) =>
    logger.debug({ clientId: client.id }, 'mqtt client silent past its keep-alive; disconnected'),
  );
  await aedes.listen();

  const limiter = new ConnectLimiter(connectRate);
  /** Per raw socket, before TLS and MQTT: over its IP's connection rate the socket is closed at once. */
  const admit = (socket: Socket): boolean => {
    if (limiter.take(socket.remoteAddress ?? 'unknown')) return true;
    refusals.inc({ cause: 'rate-limit' });
    socket.destroy();
    return false;
  };
  const serve = (socket: Socket) => {
    guardPacketSize(
      socket,
      maxPacketBytes,
      (announced, first) => {
        if (first && announced <= maxPacketBytes) {
          // A stranger's CONNECT: debug only, a flood of them must not flood the log too.
          refusals.inc({ cause: 'connect-too-large' });
          metrics.limitHits.inc({ limit: 'MQTT_MAX_CONNECT_BYTES' });
          logger.debug(
            { ip: socket.remoteAddress, announced, max: maxConnectBytes },
            'mqtt CONNECT over the size limit; connection closed before authentication',
          );
          return;
        }
        refusals.inc({ cause: 'packet-too-large' });
        logger.info({ ip: socket.remoteAddress, announced, max: maxPacketBytes }, 'mqtt packet over the size limit; connection closed');
        // MQTT 5 is told why (MQTT-3.2.2-15 asks a DISCONNECT 0x95); aedes keeps its client on the socket.
        const client = (socket as Socket & { client?: Client }).client;
        return client?.version === 5 && client.connected ? disconnectPacket(PACKET_TOO_LARGE) : undefined;
      },
      maxConnectBytes,
    );
    guardSubscribeFilters(socket, sessions.maxFiltersPerSubscribe, (_filters) => {
      metrics.limitHits.inc({ limit: 'MQTT_MAX_FILTERS_PER_SUBSCRIBE' });
      logger.info(
        { ip: socket.remoteAddress, filters: `>${sessions.maxFiltersPerSubscribe}` },
        'mqtt SUBSCRIBE over the filter limit; connection closed',
      );
    });
    aedes.handle(socket);
  };

  const server: Server = createServer((socket) => admit(socket) && serve(socket));
  const port = await listen(server, options.port, options.host);
  logger.info({ host: options.host, port, auth: auth ? 'on' : 'off' }, 'mqtt broker listening');
  let tlsServer: TlsServer | undefined;
  let tlsPort: number | undefined;
  if (options.tls) {
    tlsServer = createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, serve);
    // 'connection' is the raw TCP socket: refuse over-rate clients before the handshake costs anything.
    tlsServer.prependListener('connection', (socket: Socket) => void admit(socket));
    tlsServer.on('tlsClientError', (error: Error, socket) =>
      logger.debug({ err: error.message, ip: socket.remoteAddress }, 'mqtt tls handshake failed'),
    );
    tlsPort = await listen(tlsServer, options.tls.port, options.host);
    logger.info({ host: options.host, port: tlsPort }, 'mqtt tls listener');
  }

  return {
    port,
    tlsPort,
    aedes,
    async close() {
      stopWatching?.();
      // aedes first: it ends the client connections server.close() would otherwise wait for.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (tlsServer) await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    },
  };
}

/** DISCONNECT reason codes (MQTT 5) of the connections the broker closes. */
const NOT_AUTHORIZED = 0x87;
const SERVER_BUSY = 0x89;
const RECEIVE_MAXIMUM_EXCEEDED = 0x93;
const PACKET_TOO_LARGE = 0x95;

/**
 * A publish the device must send again (the log is slow, away or failed the append) is never
 * acknowledged: its connection is closed first (MQTT 5: DISCONNECT with `reasonCode`; 3.1/3.1.1
 * have none), so the PUBACK or failure aedes then writes finds no connection, and the device resends
 * on reconnect. (aedes 2 would answer a v5 publish whose authorization failed with PUBACK 0x87,
 * which ends the exchange: the reading would be lost.) A client is null for the broker's own publishes.
 */
function unacknowledged(client: Client | null, reasonCode: number, error: Error, callback: (error: Error) => void): void {
  if (client) client.disconnect({ reasonCode }, () => callback(error));
  else callback(error);
}

async function listen(server: Server | TlsServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: after a network blip thousands of devices reconnect at once, and the
    // default (511) overflows and makes them back off for seconds.
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

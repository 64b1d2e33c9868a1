import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from 'pino';
import type { CredentialStore } from './credentials.js';
import type { LoginGate } from './login-gate.js';
import { setPrincipal } from './principals.js';
import type { RefusalCause } from './refusals.js';

export interface AuthenticateOptions {
  /** undefined: authentication off (every client accepted; only the keep-alive rule applies). */
  store: CredentialStore | undefined;
  keepaliveMaxS: number;
  refused: (cause: RefusalCause) => void;
  logger: Logger;
  /** Bounded queue and backoff in front of the password checks; absent: every check runs (queued without bound). */
  gate?: LoginGate;
  /** A limit refused a login (its setting's name), for citybrain_limit_hits_total. */
  limitHit?: (limit: string) => void;
}

/** CONNACK return codes of MQTT 3.1.1. */
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const NOT_AUTHORIZED = 5;

function refusal(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

/** What authenticate needs of the CONNECT packet, which it does not see. */
const connects = new WeakMap<Client, { keepalive: number; version: number; persistentWithoutId: boolean }>();

/**
 * aedes `preConnect`: remembers what `authenticate` judges of the CONNECT (keep-alive, protocol
 * version, a persistent session without a client id).
 *
 * MQTT 3.1/3.1.1: a persistent session is CleanSession 0; aedes 2 itself refuses one without a
 * client id (CONNACK 2) right after this hook, so it is only counted here. MQTT 5: a session is
 * persistent when its Session Expiry Interval is above 0 (Clean Start only says whether to resume
 * one); `authenticate` refuses it without a client id (CONNACK 0x85). A v5 keep-alive of 0 or over
 * the maximum is not refused: the CONNACK's Server Keep Alive imposes the maximum instead
 * (MQTT-3.2.2-21), which aedes announces and enforces for a client whose `_serverKeepAlive` is set
 * (aedes 2.0.0-beta.1 sets it itself only with its `keepaliveLimit` option, which would refuse
 * 3.1.1 clients with the non-standard return code 6).
 */
export function preConnect(options: Pick<AuthenticateOptions, 'keepaliveMaxS' | 'refused'>) {
  const { keepaliveMaxS, refused } = options;
  return (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void => {
    const version = packet.protocolVersion ?? 4;
    const keepalive = packet.keepalive ?? 0;
    const persistent = version === 5 ? (packet.properties?.sessionExpiryInterval ?? 0) > 0 : packet.clean === false;
    const persistentWithoutId = !packet.clientId && persistent;
    connects.set(client, { keepalive, version, persistentWithoutId });
    if (persistentWithoutId && version < 5) refused('client-id');
    if (version === 5 && (keepalive === 0 || keepalive > keepaliveMaxS)) {
      (client as Client & { _serverKeepAlive?: number })._serverKeepAlive = keepaliveMaxS;
    }
    callback(null, true);
  };
}

/**
 * aedes `authenticate`. A persistent session needs a client id to find it again: without one it is
 * refused "identifier rejected" (3.1.1: CONNACK 2, MQTT-3.1.3-8; 5: CONNACK 0x85, which aedes maps
 * from the same return code). A 3.1/3.1.1 client must announce a keep-alive between 1 s and the
 * maximum (it cannot be told a better one, so like mosquitto it is refused as "identifier
 * rejected"), so a half-open connection is noticed; a v5 client is told the maximum (preConnect). With credentials, the username is a device or gateway id, the
 * password its secret, and the client id must be the username: one session per device, and no
 * device can take over another's session. Every failure answers the same "not authorized".
 *
 * A login verified recently (the store's cache) is let in at once. Any other goes through the
 * gate: while its username or address prefix backs off after failures it is refused "not
 * authorized" without a check; when the queue of checks is full, "server unavailable" (the
 * device retries later). Neither costs a password check.
 */
export function authenticate(options: AuthenticateOptions) {
  const { store, keepaliveMaxS, refused, logger, gate } = options;
  return (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    callback: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void => {
    const { keepalive, version, persistentWithoutId } = connects.get(client) ?? { keepalive: 0, version: 4, persistentWithoutId: false };
    if (persistentWithoutId) {
      refused('client-id');
      logger.debug('mqtt connection refused: a persistent session without a client id');
      return callback(refusal(IDENTIFIER_REJECTED, 'a persistent session needs a client id'), false);
    }
    if (version < 5 && (keepalive === 0 || keepalive > keepaliveMaxS)) {
      refused('keepalive');
      logger.debug({ clientId: client.id, keepalive }, 'mqtt connection refused: keep-alive out of range');
      return callback(refusal(IDENTIFIER_REJECTED, `keep-alive must be 1..${keepaliveMaxS} s (got ${keepalive})`), false);
    }
    if (!store) return callback(null, true);
    if (store.size === 0) {
      refused('no-credentials');
      return callback(refusal(NOT_AUTHORIZED, 'no credentials provisioned'), false);
    }
    if (!username || !password) {
      refused('bad-credentials');
      return callback(refusal(NOT_AUTHORIZED, 'username and password required'), false);
    }
    if (client.id !== username) {
      refused('client-id');
      logger.info(
        { clientId: client.id.slice(0, 64), username: username.slice(0, 64) },
        'mqtt connection refused: client id must equal the username',
      );
      return callback(refusal(IDENTIFIER_REJECTED, 'client id must equal the username'), false);
    }
    const secret = password.toString('utf8');
    const known = store.cached(username, secret);
    if (known) {
      setPrincipal(client, known);
      return callback(null, true);
    }
    const ip = client.conn && 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined;
    const verify = () => store.verify(username, secret);
    const checked = gate ? gate.check(username, ip, verify, (p) => p !== null) : verify().then((value) => ({ ok: true as const, value }));
    checked.then(
      (result) => {
        if (!result.ok) {
          const busy = result.limit === 'MQTT_AUTH_QUEUE_MAX';
          refused(busy ? 'auth-busy' : 'auth-backoff');
          options.limitHit?.(result.limit);
          logger.debug(
            { username: username.slice(0, 64), ip, limit: result.limit },
            busy ? 'mqtt login refused: password checks busy' : 'mqtt login refused: backing off after failed logins',
          );
          return callback(busy ? refusal(SERVER_UNAVAILABLE, 'server unavailable') : refusal(NOT_AUTHORIZED, 'not authorized'), false);
        }
        const principal = result.value;
        if (!principal) {
          refused('bad-credentials');
          // The username is an id, not a secret; the password is never logged.
          logger.info({ username: username.slice(0, 64), ip }, 'mqtt connection refused: bad credentials');
          return callback(refusal(NOT_AUTHORIZED, 'not authorized'), false);
        }
        setPrincipal(client, principal);
        callback(null, true);
      },
      (error: unknown) => {
        logger.error({ err: (error as Error).message, username: username.slice(0, 64) }, 'credential check failed');
        callback(refusal(NOT_AUTHORIZED, 'not authorized'), false);
      },
    );
  };
}

import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from 'pino';
import type { CredentialStore } from './credentials.js';
import { setPrincipal } from './principals.js';
import type { RefusalCause } from './refusals.js';

export interface AuthenticateOptions {
  /** undefined: authentication off (every client accepted; only the keep-alive rule applies). */
  store: CredentialStore | undefined;
  keepaliveMaxS: number;
  refused: (cause: RefusalCause) => void;
  logger: Logger;
}

/** CONNACK return codes of MQTT 3.1.1. */
const IDENTIFIER_REJECTED = 2;
const NOT_AUTHORIZED = 5;

function refusal(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

const keepalives = new WeakMap<Client, number>();

/** aedes `preConnect`: remembers the announced keep-alive (authenticate does not see the packet). */
export function preConnect(client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void {
  keepalives.set(client, packet.keepalive ?? 0);
  callback(null, true);
}

/**
 * aedes `authenticate`. A client must announce a keep-alive between 1 s and the maximum (MQTT 3.1.1
 * cannot tell it a better one, so like mosquitto it is refused as "identifier rejected"), so a
 * half-open connection is noticed. With credentials, the username is a device or gateway id, the
 * password its secret, and the client id must be the username: one session per device, and no
 * device can take over another's session. Every failure answers the same "not authorized".
 */
export function authenticate(options: AuthenticateOptions) {
  const { store, keepaliveMaxS, refused, logger } = options;
  return (client: Client, username: string | undefined, password: Buffer | undefined, callback: (error: AuthenticateError | null, success: boolean | null) => void): void => {
    const keepalive = keepalives.get(client) ?? 0;
    if (keepalive === 0 || keepalive > keepaliveMaxS) {
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
      logger.info({ clientId: client.id.slice(0, 64), username: username.slice(0, 64) }, 'mqtt connection refused: client id must equal the username');
      return callback(refusal(IDENTIFIER_REJECTED, 'client id must equal the username'), false);
    }
    store.verify(username, password.toString('utf8')).then(
      (principal) => {
        if (!principal) {
          refused('bad-credentials');
          // The username is an id, not a secret; the password is never logged.
          logger.info({ username: username.slice(0, 64), ip: client.conn && 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined }, 'mqtt connection refused: bad credentials');
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

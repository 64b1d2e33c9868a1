import type { Client } from 'aedes';
import type { CredentialStore } from './credentials.js';
import { principalOf } from './principals.js';
import { subscribeAllowed } from './subscribe-policy.js';

export type ForwardRefusal = 'unauthenticated' | 'revoked' | 'not-subscribable';

/**
 * Who may RECEIVE a message (aedes `authorizeForward`), decided per receiver at delivery time, live
 * deliveries, retained messages and a persistent session's queue alike: the receiver's credentials
 * must still be in force (a revoked or removed entry receives nothing more), and it must be allowed
 * to subscribe to the message's topic now. Whatever a session store kept, a refused or since-revoked
 * filter never delivers.
 */
export function forwardPolicy(store: CredentialStore): (client: Client, topic: string) => ForwardRefusal | undefined {
  return (client, topic) => {
    const principal = principalOf(client);
    if (!principal) return 'unauthenticated';
    if (!store.active(principal)) return 'revoked';
    // A topic is a filter without wildcards: allowed exactly when it is one of the receiver's own.
    if (!subscribeAllowed(principal, topic)) return 'not-subscribable';
    return undefined;
  };
}

import type { Client } from 'aedes';
import type { Principal } from './credentials.js';

/** Who each authenticated connection is; set by `authenticate`, read by the authorization hooks. */
const principals = new WeakMap<Client, Principal>();

export function setPrincipal(client: Client, principal: Principal): void {
  principals.set(client, principal);
}

export function principalOf(client: Client | null | undefined): Principal | undefined {
  return client ? principals.get(client) : undefined;
}

import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiRole } from '../core/index.js';
import { sendError } from './errors.js';

const RANK: Record<ApiRole, number> = { viewer: 0, crew: 1, operator: 2, admin: 3 };

export interface Principal {
  role: ApiRole;
  /** A name safe to log and to record on an acknowledgement (never the token). */
  name: string;
  /** Which token (the first 12 hex characters of its SHA-256): tells two tokens of one role apart in the audit trail. */
  token?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** The hooks `requireRole` made: buildApi refuses an /api route without one in its onRequest. */
const AUTH_HOOKS = new WeakSet<object>();

/** Whether a route's onRequest hooks (one, a list, or none) include an authentication made by `requireRole`. */
export function authenticates(onRequest: unknown): boolean {
  const hooks: unknown[] = Array.isArray(onRequest) ? onRequest : [onRequest];
  return hooks.some((hook) => typeof hook === 'function' && AUTH_HOOKS.has(hook));
}

/**
 * Bearer-token roles from API_TOKENS: viewer reads; crew and operator acknowledge alerts; admin
 * also manages credentials. With tokens configured every /api route needs one: no token 401, a
 * role too low 403.
 *
 * Without API_TOKENS (the embedded development default; start-up warns) the API is in protected
 * mode, like Redis without a password: anyone who can reach it may read, but acknowledging and
 * admin are answered only to requests from this host (loopback); others get 401.
 *
 * It must run as the route's `onRequest` hook: fastify validates params, query and body after
 * onRequest, so a request without a valid token gets its 401 before any schema is described to it.
 */
export function requireRole(tokens: Map<string, ApiRole> | undefined, minimum: ApiRole) {
  const hook = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!tokens) {
      if (minimum !== 'viewer' && !LOOPBACK.has(request.socket.remoteAddress ?? '')) {
        return sendError(
          reply.header('www-authenticate', 'Bearer'),
          'unauthorized',
          'API_TOKENS is not set: only requests from this host may do this; configure API_TOKENS to allow others',
        );
      }
      request.principal = { role: minimum === 'viewer' ? 'viewer' : 'admin', name: 'local' };
      return;
    }
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const role = match ? tokens.get(match[1]!) : undefined;
    if (!role) {
      return sendError(reply.header('www-authenticate', 'Bearer'), 'unauthorized', 'a valid bearer token is required');
    }
    if (RANK[role] < RANK[minimum]) {
      return sendError(reply, 'forbidden', `role ${role} may not do this; needs ${minimum} or above`);
    }
    request.principal = { role, name: `${role}-token`, token: createHash('sha256').update(match![1]!).digest('hex').slice(0, 12) };
  };
  AUTH_HOOKS.add(hook);
  return hook;
}

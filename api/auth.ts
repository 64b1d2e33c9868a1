import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiRole } from '../core/index.js';
import { sendError } from './errors.js';

const RANK: Record<ApiRole, number> = { viewer: 0, crew: 1, operator: 2, admin: 3 };

export interface Principal {
  role: ApiRole;
  /** A name safe to log and to record on an acknowledgement (never the token). */
  name: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Bearer-token roles from API_TOKENS: viewer reads; crew and operator acknowledge alerts; admin
 * also manages credentials. With tokens configured every /api route needs one: no token 401, a
 * role too low 403.
 *
 * Without API_TOKENS (the embedded development default; start-up warns) the API is in protected
 * mode, like Redis without a password: anyone who can reach it may read, but acknowledging and
 * admin are answered only to requests from this host (loopback); others get 401.
 */
export function requireRole(tokens: Map<string, ApiRole> | undefined, minimum: ApiRole) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
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
    request.principal = { role, name: `${role}-token` };
  };
}

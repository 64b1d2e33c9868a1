import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiRole } from '../core/index.js';

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

/**
 * Bearer-token roles from API_TOKENS. Without tokens configured the API is open (the embedded
 * development default; start-up warns); with tokens, every /api route needs one.
 */
export function requireRole(tokens: Map<string, ApiRole> | undefined, minimum: ApiRole) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!tokens) {
      request.principal = { role: 'admin', name: 'anonymous' };
      return;
    }
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const role = match ? tokens.get(match[1]!) : undefined;
    if (!role) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token is required' });
    }
    if (RANK[role] < RANK[minimum]) {
      return reply.code(403).send({ error: 'forbidden', message: `role ${role} may not do this; needs ${minimum} or above` });
    }
    request.principal = { role, name: `${role}-token` };
  };
}

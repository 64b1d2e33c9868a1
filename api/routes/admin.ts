import type { FastifyPluginAsync } from 'fastify';
import type { ApiRole } from '../../core/index.js';
import { requireRole } from '../auth.js';
import { CredentialsError } from '../../core/errors.js';
import { sendError } from '../errors.js';

/** What the admin routes need of ingest's credential store (ingest/auth CredentialStore). */
export interface CredentialAdmin {
  readonly file: string | undefined;
  summary(): Record<string, unknown>;
  /** Throws an error named CredentialsError (naming the file and entry, never a secret) for an invalid file. */
  reload(): Promise<unknown>;
}

/**
 * Admin: the MQTT credentials of the ingest running in this process. Provisioning writes the file
 * (`city-brain credentials`); the broker re-reads it on change, and `reload` applies it at once.
 * Only counts are shown: hashes and secrets never leave the file.
 */
export const adminRoutes: FastifyPluginAsync<{ tokens?: Map<string, ApiRole>; credentials: () => CredentialAdmin | undefined }> = async (
  app,
  { tokens, credentials },
) => {
  const absent =
    'no MQTT broker with authentication runs in this process (MQTT_AUTH=off, or the ingest stage runs elsewhere: it re-reads MQTT_CREDENTIALS within 5 s of a change)';

  app.get(
    '/api/v1/admin/credentials',
    {
      onRequest: requireRole(tokens, 'admin'),
      schema: { summary: 'MQTT credentials in force: counts of devices, gateways, revoked entries (admin)', tags: ['admin'] },
    },
    async (_req, reply) => {
      const store = credentials();
      return store ? store.summary() : sendError(reply, 'not-here', absent);
    },
  );

  app.post(
    '/api/v1/admin/credentials/reload',
    {
      onRequest: requireRole(tokens, 'admin'),
      schema: {
        summary: 'Re-read the MQTT credentials file now (admin); an invalid file leaves the current credentials in force',
        tags: ['admin'],
      },
    },
    async (req, reply) => {
      const store = credentials();
      if (!store?.file) return sendError(reply, 'not-here', absent);
      try {
        await store.reload();
      } catch (error) {
        if (error instanceof CredentialsError) return sendError(reply, 'invalid-credentials', error.message);
        throw error;
      }
      req.log.info({ by: req.principal?.name, ...store.summary() }, 'mqtt credentials reloaded');
      return store.summary();
    },
  );
};

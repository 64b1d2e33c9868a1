import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The console's files and their types: a fixed list, so no request can name any other file. */
const ASSETS = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' } as const;

/** Nothing from elsewhere: the city's network may be closed, and a page that loads only itself cannot be made to load more. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** `api/console/` of the package, found from this file whether it runs from the sources or from dist/. */
function consoleDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'api', 'console');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) throw new Error('the console files (api/console/index.html) are missing from the package');
  }
}

/**
 * The web console at `/`: the KPI board, alerts crews acknowledge and annotate, nodes and a map, live
 * through /api/v1/stream. The page is public (it holds no data); every data request it makes carries
 * the user's token and is checked by the API routes as any other client's.
 */
export const consoleRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const dir = consoleDir();
  const files = new Map<string, Buffer>([
    ['index.html', readFileSync(join(dir, 'index.html'))],
    ...Object.keys(ASSETS).map((name): [string, Buffer] => [name, readFileSync(join(dir, name))]),
  ]);
  const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' };
  app.get('/', { schema: { summary: 'The web console (HTML)', tags: ['console'] } }, async (_req, reply) =>
    reply.headers(headers).type('text/html; charset=utf-8').send(files.get('index.html')),
  );
  app.get(
    '/console/:file',
    {
      schema: {
        summary: "The console's script and style sheet",
        tags: ['console'],
        params: z.object({ file: z.enum(Object.keys(ASSETS) as [keyof typeof ASSETS]) }),
      },
    },
    async (req, reply) => reply.headers(headers).type(ASSETS[req.params.file]).send(files.get(req.params.file)),
  );
};

import { z } from 'zod';

/** The API's error body (every 4xx/5xx). */
export const errorSchema = z
  .object({ error: z.string().describe('e.g. not-found, not-ready, bad-request'), message: z.string() })
  .describe('error');

import { z } from 'zod';
import { API_ERRORS, type ApiErrorCode } from '../../core/errors.js';

/** The API's error body (every 4xx/5xx): one of the catalogue's codes (core/errors.ts `API_ERRORS`) and a message. */
export const errorSchema = z
  .object({ error: z.enum(Object.keys(API_ERRORS) as [ApiErrorCode, ...ApiErrorCode[]]), message: z.string() })
  .describe('error');

import type { FastifyReply } from 'fastify';
import { API_ERRORS, type ApiErrorCode } from '../core/errors.js';

/** Sends one of the API's error replies (core/errors.ts `API_ERRORS`): its status and `{ error, message }`. */
export function sendError(reply: FastifyReply, code: ApiErrorCode, message: string): FastifyReply {
  return reply.code(API_ERRORS[code]).send({ error: code, message });
}

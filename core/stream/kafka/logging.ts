import { logLevel, type logCreator } from 'kafkajs';
import type { KafkaLogLevel, LoggerLike } from '../kafka-shared.js';

export type { KafkaLogLevel, LoggerLike };

export const KAFKAJS_LEVEL: Record<KafkaLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/**
 * Routes kafkajs's log entries to a pino-compatible logger. kafkajs logs every error response of a
 * request it then retries (e.g. "coordinator is loading" while a fresh broker starts) as an error
 * of its Connection namespace; those go to debug, since a failure that sticks surfaces as a
 * rejected call or through `onError`.
 */
export function kafkajsLogCreator(logger: LoggerLike): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const fields = { kafkajs: namespace, ...extra };
      if (level === logLevel.ERROR) {
        if (namespace === 'Connection') logger.debug(fields, message);
        else logger.error(fields, message);
      } else if (level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}

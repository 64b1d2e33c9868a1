import type { Logger } from 'pino';

/** Node's warnings that come from a dependency's harmless habit, logged at debug, with why. */
const HARMLESS: Record<string, string> = {
  // kafkajs's request queue schedules its throttle check at `throttledUntil (-1) - Date.now()`.
  TimeoutNegativeWarning: 'a negative timer delay (kafkajs schedules one at every start); harmless',
};

let routed = false;

/**
 * Node prints its process warnings as plain text lines on stderr, which breaks the JSON lines a
 * collector reads: they go to the log instead (warn; the few known harmless ones at debug). Once
 * per process, the first logger wins.
 */
export function logProcessWarnings(logger: Logger): void {
  if (routed) return;
  routed = true;
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    const fields = { warning: warning.name, message: warning.message };
    const harmless = HARMLESS[warning.name];
    if (harmless) logger.debug({ ...fields, why: harmless }, 'Node.js warning');
    else logger.warn(fields, 'Node.js warning');
  });
}

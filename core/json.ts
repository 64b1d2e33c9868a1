/** Parses a log record's JSON value; undefined for anything unreadable (the caller decides what that means). */
export function parseJson(value: Buffer | string): unknown {
  try {
    return JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return undefined;
  }
}

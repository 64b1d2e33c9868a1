/** Bounds on the MQTT 5 user properties a publish may carry into the log (MQTT_MAX_USER_PROPERTIES, MQTT_MAX_USER_PROPERTY_BYTES). */
export interface UserPropertyLimits {
  /** Properties kept at most per publish. */
  maxCount: number;
  /** UTF-8 bytes of names and values kept at most per publish. */
  maxBytes: number;
}

export interface RecordHeaders {
  /** The record headers, absent when the publish carried none (or none fitted). */
  headers?: Record<string, string>;
  /** Properties left out: over the count, over the bytes. */
  cut: { count: number; bytes: number };
}

/**
 * An MQTT 5 publish's user properties as the headers of every log record it makes (its readings on
 * `telemetry.raw`, its dead letters on `telemetry.dlq`), names and values as sent. A device is not
 * trusted to keep them small: the packet limit alone would let one publish carry 2 MiB of
 * properties into every record of a batch, so beyond `maxCount` properties or `maxBytes` bytes the
 * rest are left out, in the order sent, and counted. A name sent more than once keeps its last value
 * (record headers are one value per name; a Kafka consumer of this contract reads the last too).
 */
export function userPropertyHeaders(properties: Record<string, string | string[]> | undefined, limits: UserPropertyLimits): RecordHeaders {
  const cut = { count: 0, bytes: 0 };
  if (!properties) return { cut };
  const headers = new Map<string, string>();
  let bytes = 0;
  for (const [name, values] of Object.entries(properties)) {
    const value = Array.isArray(values) ? values[values.length - 1] : values;
    if (value === undefined) continue;
    const size = Buffer.byteLength(name) + Buffer.byteLength(value);
    if (headers.size >= limits.maxCount) cut.count++;
    else if (bytes + size > limits.maxBytes) cut.bytes++;
    else {
      headers.set(name, value);
      bytes += size;
    }
  }
  return headers.size > 0 ? { headers: Object.fromEntries(headers), cut } : { cut };
}

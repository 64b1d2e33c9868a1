import { z } from 'zod';
import { parseClockTime } from './time/lighting-schedule.js';
import { ConfigError } from './errors.js';
import { KAFKA_CLIENTS } from './stream/kafka-shared.js';

const port = z.coerce.number().int('must be an integer').min(0).max(65535);
const onOff = z.enum(['on', 'off']);
const ratio = z.coerce.number().min(0).max(1);
const positive = z.coerce.number().positive();
/** A whole number in [min, max]: counts, sizes, limits. */
const whole = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const url = z.url();

/** host:port[,host:port...] */
const brokers = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'each broker must be host:port')).min(1, 'at least one host:port'));

/** Local clock time "HH:MM" -> minutes after midnight. */
const clockTime = z
  .string()
  .regex(/^([01]?\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (local time)')
  .transform(parseClockTime);

/** "maxLamps:darkAllowed,..." ascending, e.g. 99:2,149:3,199:4 (roads with up to 99 lamps may have 2 dark). */
const maxDarkLadder = z
  .string()
  .transform((s) => s.split(',').map((e) => e.trim().split(':').map(Number) as [number, number]))
  .pipe(
    z
      .array(z.tuple([z.number().int().positive(), z.number().int().nonnegative()]), 'each entry must be lamps:dark')
      .min(1)
      .refine((l) => l.every(([n], i) => i === 0 || n > l[i - 1]![0]), 'road sizes must ascend'),
  );

const API_ROLES = ['viewer', 'crew', 'operator', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** role:token[,role:token...]; tokens are secrets and never appear in errors. */
const apiTokens = z.string().transform((s, ctx) => {
  const tokens = new Map<string, ApiRole>();
  for (const [i, entry] of s.split(',').entries()) {
    const [role, token] = entry.trim().split(':');
    if (!role || !token || !(API_ROLES as readonly string[]).includes(role)) {
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} must be role:token with role one of ${API_ROLES.join('|')}` });
      return z.NEVER;
    }
    if (token.length < 16) {
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} (${role}): token must be at least 16 characters` });
      return z.NEVER;
    }
    tokens.set(token, role as ApiRole);
  }
  return tokens;
});

/**
 * Every setting the pipeline reads from the environment, validated once at start-up.
 * The embedded default needs none of them.
 */
export const configSchema = z.object({
  MQTT_HOST: z.string().default('0.0.0.0'),
  MQTT_PORT: port.default(1883),
  HTTP_HOST: z.string().default('0.0.0.0'),
  HTTP_PORT: port.default(8080),
  REGISTRY: z.string().min(1).optional(),
  /** A directory of kind profiles (.yaml, .yml or .json), besides the shipped ones (waterlogging, manhole). */
  KIND_PROFILES: z.string().min(1).optional(),
  KAFKA_BROKERS: brokers.optional(),
  /**
   * Kafka, several `api` instances: how long the aggregating instance may stay silent (killed, hung,
   * cut off) before another takes over. Kafka's brokers accept 6 s at least by default
   * (group.min.session.timeout.ms); a takeover needs about this plus a few seconds.
   */
  AGGREGATOR_SESSION_TIMEOUT_S: whole(6, 25).default(10),
  /** The Kafka client library (README "Running on Apache Kafka"): kafkajs, or @platformatic/kafka (maintained). */
  KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default(KAFKA_CLIENTS[0]),
  /**
   * A pipeline process (`start`, or a stage: ingest, process, api, sink): how far V8 lets its heap grow over what survived
   * the last full collection before collecting again (V8's --heap-growing-percent); 0 = V8's own
   * choice, which on a heap of hundreds of MB goes to 2-4x, most of it garbage.
   */
  STAGE_HEAP_GROWING_PERCENT: whole(0, 1_000).default(50),
  INFLUX_URL: url.optional(),
  INFLUX_TOKEN: z.string().optional(),
  INFLUX_ORG: z.string().optional(),
  INFLUX_BUCKET: z.string().optional(),
  ALERTMANAGER_URL: url.optional(),
  GRAFANA_URL: url.optional(),
  GRAFANA_TOKEN: z.string().optional(),
  // The sinks' timings (bin/sink-timings.ts hands them to the sinks). Retries back off from MIN to MAX, doubling.
  /** InfluxDB: timeout of one write; how long a failing write is retried before its batch goes back to the log (redelivered); the 1.x rollup setup's retry. */
  INFLUX_TIMEOUT_MS: whole(100, 300_000).default(10_000),
  INFLUX_RETRY_WITHIN_S: whole(1, 3_600).default(15),
  INFLUX_RETRY_MIN_MS: whole(10, 60_000).default(250),
  INFLUX_RETRY_MAX_MS: whole(10, 600_000).default(5_000),
  INFLUX_ROLLUP_RETRY_S: whole(1, 86_400).default(30),
  /** Alertmanager: firing alerts are re-sent this often (their endsAt is 4 re-sends ahead); timeout of one post; resolved alerts older than REPLAY_RESOLVED_MAX_AGE_S are not sent again after a restart. */
  ALERTMANAGER_RESEND_S: whole(1, 3_600).default(60),
  ALERTMANAGER_TIMEOUT_MS: whole(100, 300_000).default(10_000),
  ALERTMANAGER_RETRY_MIN_MS: whole(10, 60_000).default(500),
  ALERTMANAGER_RETRY_MAX_MS: whole(10, 600_000).default(30_000),
  ALERTMANAGER_REPLAY_RESOLVED_MAX_AGE_S: whole(0, 604_800).default(3_600),
  /** Grafana annotations: timeout of one post; how long one is retried before its batch goes back to the log. */
  GRAFANA_TIMEOUT_MS: whole(100, 300_000).default(10_000),
  GRAFANA_RETRY_WITHIN_S: whole(1, 3_600).default(15),
  GRAFANA_RETRY_MIN_MS: whole(10, 60_000).default(250),
  GRAFANA_RETRY_MAX_MS: whole(10, 600_000).default(5_000),
  /** Device authentication (on by default): credentials from MQTT_CREDENTIALS (`city-brain credentials` writes it); `off` must be explicit. */
  MQTT_AUTH: onOff.default('on'),
  MQTT_CREDENTIALS: z.string().min(1).optional(),
  /** MQTT over TLS: a second listener on MQTT_TLS_PORT with the PEM certificate chain and key at these paths. */
  MQTT_TLS_PORT: port.optional(),
  MQTT_TLS_CERT: z.string().min(1).optional(),
  MQTT_TLS_KEY: z.string().min(1).optional(),
  /** Largest MQTT packet (bytes); a client announcing a larger one is disconnected before it is buffered. */
  MQTT_MAX_PACKET_BYTES: whole(1024, 268_435_455).default(2_097_152),
  /** New MQTT connections per client IP: refill per second and burst (token bucket); beyond, the socket is closed. */
  MQTT_CONNECT_RATE_PER_IP: z.coerce.number().positive().max(100_000).default(50),
  MQTT_CONNECT_BURST_PER_IP: whole(1, 1_000_000).default(500),
  /** Keep-alive a client must announce (seconds): 0 (none) or more than this is refused (CONNACK identifier rejected); silent clients are dropped after 1.5x theirs. */
  MQTT_KEEPALIVE_MAX_S: whole(10, 65_535).default(3_600),
  /** Largest first packet (the CONNECT) a connection may announce before it has authenticated (bytes); beyond, the socket is closed before the packet is buffered. */
  MQTT_MAX_CONNECT_BYTES: whole(128, 65_536).default(4_096),
  /** Password checks (scrypt) waiting or running at most; beyond, a login is refused at once with CONNACK 3 "server unavailable" (the device retries). */
  MQTT_AUTH_QUEUE_MAX: whole(1, 100_000).default(128),
  /** Failed logins of one username / one address prefix (IPv4 /24, IPv6 /64) before it backs off: its logins are refused (CONNACK 5) without a password check for 1 s, doubling per further failure up to MQTT_AUTH_BACKOFF_MAX_S. */
  MQTT_AUTH_BACKOFF_USERNAME_FAILURES: whole(1, 1_000_000).default(5),
  MQTT_AUTH_BACKOFF_PREFIX_FAILURES: whole(1, 1_000_000).default(50),
  MQTT_AUTH_BACKOFF_MAX_S: whole(1, 3_600).default(60),
  /** Topic filters in one SUBSCRIBE at most; a SUBSCRIBE with more closes the connection before aedes handles it. */
  MQTT_MAX_FILTERS_PER_SUBSCRIBE: whole(1, 100_000).default(100),
  /** Topic filters one connection may hold at most (a persistent session's restored ones included); beyond, a failed SUBACK (0x80) for the filter. */
  MQTT_MAX_FILTERS_PER_CLIENT: whole(1, 100_000).default(200),
  /** Messages (and bytes of topic + payload) queued for one persistent session at most, while it is away or has not acknowledged them; beyond, the oldest are dropped. */
  MQTT_SESSION_QUEUE_MAX: whole(1, 1_000_000).default(1_000),
  MQTT_SESSION_QUEUE_MAX_BYTES: whole(1024, 1_073_741_824).default(1_048_576),
  /** MQTT 5 user properties of one publish kept as headers of its log records at most, and their bytes (names + values); the rest are left out and counted. */
  MQTT_MAX_USER_PROPERTIES: whole(0, 1_000).default(16),
  MQTT_MAX_USER_PROPERTY_BYTES: whole(0, 65_536).default(1_024),
  /** MQTT 5 Receive Maximum: QoS 1/2 publishes one client may have unanswered (announced in the CONNACK); one more disconnects it (0x93). */
  MQTT_RECEIVE_MAXIMUM: whole(1, 65_535).default(32),
  /** MQTT 5: longest Session Expiry Interval granted (seconds); a client asking more (or "never") gets this, told in the CONNACK. */
  MQTT_SESSION_EXPIRY_MAX_S: whole(1, 4_294_967_294).default(86_400),
  API_TOKENS: apiTokens.optional(),
  /** HTTP requests per client IP and minute (probes and /metrics not counted); beyond, 429. */
  API_RATE_LIMIT_PER_MIN: whole(1, 1_000_000).default(6_000),
  /** Live streams (/api/v1/stream) open at once per API token (per client IP without API_TOKENS) and in total; beyond, 429 / 503. */
  STREAM_MAX_PER_TOKEN: whole(1, 100_000).default(10),
  STREAM_MAX_TOTAL: whole(1, 100_000).default(100),
  /** Largest body of one registry import (POST /api/v1/registry/import, CSV or JSON); other requests keep 64 KiB. */
  REGISTRY_IMPORT_MAX_BYTES: whole(1024, 2_147_483_647).default(268_435_456),
  /**
   * Registration on first sight: `quarantine` puts an unknown node's first message on the pending
   * list (/api/v1/registry/pending) for an operator to approve; `off` only dead-letters it.
   */
  AUTO_REGISTER: z.enum(['off', 'quarantine']).default('off'),
  /** Unknown nodes one ingest process reports at most (each client at most MAX_BATCH_ENTRIES of them); beyond, only dead-lettered. */
  AUTO_REGISTER_MAX_PENDING: whole(1, 1_000_000).default(10_000),
  /** Browser origins allowed by CORS (comma-separated, e.g. https://ops.example.org); unset: no CORS headers. */
  CORS_ORIGINS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^(https?:\/\/[^\s/,]+|\*)$/, 'each origin must be scheme://host[:port] or *')).min(1))
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty`: one readable line per entry; `json`: one JSON object per line (for collectors); `auto`: pretty on a terminal, else JSON. */
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  /** Largest accepted payload of one telemetry message / one gateway batch (bytes). */
  MAX_PAYLOAD_BYTES: whole(256, 16_777_216).default(16_384),
  MAX_BATCH_BYTES: whole(1024, 67_108_864).default(1_048_576),
  /** Entries of one gateway batch at most; a batch with more is one dead letter (too-large), not one per entry. */
  MAX_BATCH_ENTRIES: whole(1, 1_000_000).default(1_000),
  /** A dead letter keeps at most this many bytes of the rejected payload, and a re-serialised batch entry at most this nesting depth (deeper levels are cut, never an error). */
  DLQ_PAYLOAD_BYTES: whole(256, 1_048_576).default(4_096),
  DLQ_PAYLOAD_MAX_DEPTH: whole(1, 1_000).default(32),
  /** Readings stamped further than this ahead of the broker's clock are rejected (bad-timestamp): a wrong device clock must not move event time. */
  MAX_FUTURE_SKEW_S: whole(0, 31_536_000).default(300),
  /** Publishes waiting for the log at most (over all MQTT clients); beyond, publishes are refused unacknowledged and counted. */
  INGEST_MAX_INFLIGHT: whole(10, 1_000_000).default(20_000),
  /** The city's coordinates for the lamp switching schedule (default: the city centre, 36.65 N 117.12 E). */
  CITY_LAT: z.coerce.number().min(-66).max(66).default(36.65),
  CITY_LON: z.coerce.number().min(-180).max(180).default(117.12),
  /** Minutes after sunset lamps switch on, and after sunrise they switch off (negative: before). */
  LIGHTING_ON_OFFSET_MIN: z.coerce.number().min(-120).max(120).default(0),
  LIGHTING_OFF_OFFSET_MIN: z.coerce.number().min(-120).max(120).default(0),
  /** Plan targets: expressways, main and secondary roads 99 %, branch roads and alleys 95 %. */
  LIGHTING_TARGET_MAIN: ratio.default(0.99),
  LIGHTING_TARGET_BRANCH: ratio.default(0.95),
  /** Half-night mode: every other lamp off late at night (from these local times, summer April-September / winter) until the morning switch-off. */
  LIGHTING_HALF_NIGHT: onOff.default('on'),
  LIGHTING_HALF_NIGHT_SUMMER: clockTime.default(23 * 60 + 30),
  LIGHTING_HALF_NIGHT_WINTER: clockTime.default(22 * 60 + 30),
  /** Per-road floor of the lighting rate (main: expressway/main/secondary; branch: branch/alley), and the dark lamps allowed on small roads ("lamps:dark,..." by road size). */
  LIGHTING_ROAD_FLOOR_MAIN: ratio.default(0.97),
  LIGHTING_ROAD_FLOOR_BRANCH: ratio.default(0.95),
  LIGHTING_ROAD_MAX_DARK: maxDarkLadder.default([
    [99, 2],
    [149, 3],
    [199, 4],
  ]),
  /** Share of a circuit's lamps dark at once that makes one CircuitDark alert instead of lamp alerts. */
  CIRCUIT_DARK_RATIO: ratio.default(0.5),
  /** A node is offline once silent for its expected interval times this factor. */
  ONLINE_GRACE_FACTOR: positive.default(3),
  /** Seconds a condition must hold before its alert fires, and be gone before it resolves. */
  ALERT_HOLD_S: z.coerce.number().min(0).max(86_400).default(60),
  ALERT_RESOLVE_HOLD_S: z.coerce.number().min(0).max(86_400).default(30),
  /** Groundwater: metres above a line the level must regain before its band clears. */
  GROUNDWATER_HYSTERESIS_M: z.coerce.number().min(0).max(1).default(0.02),
  GROUNDWATER_FALLING_FAST_CM_PER_DAY: positive.default(5),
  /** Noise: share of an hour's minutes needed for a valid hourly Leq. */
  NOISE_MIN_VALID_RATIO: ratio.default(0.75),
  PARKING_NEARLY_FULL: ratio.default(0.9),
  PARKING_FULL: ratio.default(0.95),
  /** How often KPIs and alert conditions are evaluated (ms). */
  EVAL_INTERVAL_MS: whole(100, 60_000).default(1_000),
  /**
   * The metrics.* topics (kept 7 days, read by the InfluxDB sink and the other api instances): a
   * section's summary is written when it changed, at most every METRICS_SUMMARY_INTERVAL_S; each
   * entry of its keyed lists (lot, noise station, well, profile node) when it changed, at most
   * every METRICS_ITEM_INTERVAL_S; every one again after METRICS_REFRESH_S even unchanged. The
   * API, alerts and the live stream take every evaluation. See README "Configuration" for the budget.
   */
  METRICS_SUMMARY_INTERVAL_S: whole(0, 3_600).default(10),
  METRICS_ITEM_INTERVAL_S: whole(0, 86_400).default(300),
  METRICS_REFRESH_S: whole(1, 518_400).default(900),
  /** Event time: a reading older than its partition's newest reading minus this is late (dead-lettered, not applied). At most 6 h: the noise minutes are kept 26 h. */
  ALLOWED_LATENESS_S: whole(0, 21_600).default(3_600),
  /** Processor state snapshots: how often (ms), and the directory of the embedded mode's snapshot files (Kafka uses a compacted topic). */
  STATE_SNAPSHOT_INTERVAL_MS: whole(100, 3_600_000).default(120_000),
  STATE_DIR: z.string().min(1).default('.city-brain/state'),
  /**
   * The embedded log: `file` (segment files in STATE_DIR/log: what a device was acknowledged
   * survives a kill) or `memory` (in-process, lost with the process). Unset: `file` when STATE_DIR
   * can be written, else `memory` with a warning. Ignored on Kafka (KAFKA_BROKERS).
   */
  LOG_STORE: z.enum(['file', 'memory']).optional(),
  /** File log: fsync before acknowledging (`always`) or every LOG_FSYNC_INTERVAL_MS (`interval`: a power cut loses at most that; a process kill nothing). */
  LOG_FSYNC: z.enum(['always', 'interval']).default('interval'),
  LOG_FSYNC_INTERVAL_MS: whole(10, 60_000).default(1000),
  /** File log retention: hours kept (unset = each topic's own: 7 days for readings, 14 for dead letters) and bytes kept per partition. */
  LOG_RETENTION_HOURS: whole(1, 100_000).optional(),
  LOG_RETENTION_BYTES: whole(1024 * 1024, Number.MAX_SAFE_INTEGER).default(1024 * 1024 * 1024),
  LOG_SEGMENT_BYTES: whole(64 * 1024, 1024 * 1024 * 1024).default(64 * 1024 * 1024),
});

export type Config = z.output<typeof configSchema>;

export { ConfigError };

/** Parses the environment once; any bad variable stops start-up with one line naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, so `FOO= npm start` behaves like no FOO.
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const parts = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const secret = /TOKEN/.test(name);
      const got = secret || input[name] === undefined ? '' : ` (got ${JSON.stringify(input[name])})`;
      return `${name}: ${issue.message}${got}`;
    });
    throw new ConfigError(`invalid configuration: ${parts.join('; ')}`);
  }
  const config = result.data;
  if (config.MQTT_TLS_PORT !== undefined && !(config.MQTT_TLS_CERT && config.MQTT_TLS_KEY)) {
    throw new ConfigError('invalid configuration: MQTT_TLS_PORT: also needs MQTT_TLS_CERT and MQTT_TLS_KEY (PEM file paths)');
  }
  if (config.MQTT_MAX_PACKET_BYTES <= config.MAX_BATCH_BYTES) {
    throw new ConfigError(
      `invalid configuration: MQTT_MAX_PACKET_BYTES: must be larger than MAX_BATCH_BYTES (${config.MAX_BATCH_BYTES}) so an oversized batch is still dead-lettered`,
    );
  }
  // A reading that far ahead moves its log partition's watermark as far: at or beyond the allowed
  // lateness, one device with a clock ahead would get every honest live reading there dead-lettered `late`.
  if (config.MAX_FUTURE_SKEW_S >= config.ALLOWED_LATENESS_S) {
    throw new ConfigError(
      `invalid configuration: MAX_FUTURE_SKEW_S: must be less than ALLOWED_LATENESS_S (${config.ALLOWED_LATENESS_S}), or one device stamping readings that far ahead makes every other reading on its partition late; raise ALLOWED_LATENESS_S (at most 21600) or lower MAX_FUTURE_SKEW_S`,
    );
  }
  for (const sink of ['INFLUX', 'ALERTMANAGER', 'GRAFANA'] as const) {
    const [min, max] = [config[`${sink}_RETRY_MIN_MS`], config[`${sink}_RETRY_MAX_MS`]];
    if (min > max)
      throw new ConfigError(`invalid configuration: ${sink}_RETRY_MIN_MS: must be at most ${sink}_RETRY_MAX_MS (${max}) (got ${min})`);
  }
  for (const name of ['METRICS_SUMMARY_INTERVAL_S', 'METRICS_ITEM_INTERVAL_S'] as const)
    if (config[name] > config.METRICS_REFRESH_S)
      throw new ConfigError(
        `invalid configuration: ${name}: must be at most METRICS_REFRESH_S (${config.METRICS_REFRESH_S}) (got ${config[name]}): a change must not wait longer than an unchanged value`,
      );
  if (config.INFLUX_URL && !(config.INFLUX_TOKEN && config.INFLUX_ORG && config.INFLUX_BUCKET)) {
    throw new ConfigError('invalid configuration: INFLUX_URL: also needs INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET');
  }
  return config;
}

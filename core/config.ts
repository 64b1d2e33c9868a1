import { z } from 'zod';

const port = z.coerce.number().int('must be an integer').min(0).max(65535);
const onOff = z.enum(['on', 'off']);
const ratio = z.coerce.number().min(0).max(1);
const positive = z.coerce.number().positive();
const url = z.url();

/** host:port[,host:port...] */
const brokers = z
  .string()
  .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'each broker must be host:port')).min(1, 'at least one host:port'));

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
  KAFKA_BROKERS: brokers.optional(),
  INFLUX_URL: url.optional(),
  INFLUX_TOKEN: z.string().optional(),
  INFLUX_ORG: z.string().optional(),
  INFLUX_BUCKET: z.string().optional(),
  ALERTMANAGER_URL: url.optional(),
  GRAFANA_URL: url.optional(),
  GRAFANA_TOKEN: z.string().optional(),
  MQTT_AUTH: onOff.default('off'),
  MQTT_CREDENTIALS: z.string().optional(),
  API_TOKENS: apiTokens.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest accepted payload of one telemetry message / one gateway batch (bytes). */
  MAX_PAYLOAD_BYTES: z.coerce.number().int().min(256).max(16_777_216).default(16_384),
  MAX_BATCH_BYTES: z.coerce.number().int().min(1024).max(67_108_864).default(1_048_576),
  /** Readings stamped further than this ahead of the broker's clock are rejected (bad-timestamp): a wrong device clock must not move event time. */
  MAX_FUTURE_SKEW_S: z.coerce.number().int().min(0).max(31_536_000).default(300),
  /** Publishes waiting for the log at most (over all MQTT clients); beyond, publishes are refused unacknowledged and counted. */
  INGEST_MAX_INFLIGHT: z.coerce.number().int().min(10).max(1_000_000).default(20_000),
  /** The city's coordinates for the lamp switching schedule (default: the city centre, 36.65 N 117.12 E). */
  CITY_LAT: z.coerce.number().min(-66).max(66).default(36.65),
  CITY_LON: z.coerce.number().min(-180).max(180).default(117.12),
  /** Minutes after sunset lamps switch on, and after sunrise they switch off (negative: before). */
  LIGHTING_ON_OFFSET_MIN: z.coerce.number().min(-120).max(120).default(0),
  LIGHTING_OFF_OFFSET_MIN: z.coerce.number().min(-120).max(120).default(0),
  /** Plan targets: expressways, main and secondary roads 99 %, branch roads and alleys 95 %. */
  LIGHTING_TARGET_MAIN: ratio.default(0.99),
  LIGHTING_TARGET_BRANCH: ratio.default(0.95),
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
  EVAL_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
});

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

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
  if (config.MQTT_AUTH === 'on') {
    throw new ConfigError('invalid configuration: MQTT_AUTH: "on" is not available yet in this version; set MQTT_AUTH=off explicitly');
  }
  if (config.INFLUX_URL && !(config.INFLUX_TOKEN && config.INFLUX_ORG && config.INFLUX_BUCKET)) {
    throw new ConfigError('invalid configuration: INFLUX_URL: also needs INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET');
  }
  return config;
}

/**
 * The project's errors, in one catalogue: each kind has a code, the HTTP status an API reply for it
 * carries where it has one, whether trying the same thing again may succeed (`retriable`), and
 * whether it is the user's input at fault (`oneLine`: the CLI prints the message alone and exits 2,
 * where any other error prints its stack and exits 1).
 *
 * The modules that throw them re-export their classes from here. `code`, `status` and `retriable`
 * are getters on the prototype, not own properties, so logs and printed errors look as before.
 */
export interface ErrorSpec {
  status?: number;
  retriable: boolean;
  oneLine: boolean;
}

export const ERRORS = {
  /** An environment variable is invalid; start-up stops with one line naming it. */
  CONFIG_INVALID: { retriable: false, oneLine: true },
  /** A registry file (JSON or CSV) has a bad entry. */
  REGISTRY_INVALID: { retriable: false, oneLine: true },
  /** A kind profile file is invalid. */
  PROFILE_INVALID: { retriable: false, oneLine: true },
  /** An MQTT credentials file or entry is invalid (an admin reload answers 422). */
  CREDENTIALS_INVALID: { status: 422, retriable: false, oneLine: true },
  /** A command line is wrong; the command prints its usage. */
  USAGE: { retriable: false, oneLine: true },
  /** A pipeline stage (`city-brain ingest|process|sink|api`) cannot run as asked. */
  STAGE: { retriable: false, oneLine: true },
  /** A service we post to (Alertmanager, Grafana) answered with an error status; see `HttpError.retriable`. */
  UPSTREAM_HTTP: { retriable: true, oneLine: false },
  /** InfluxDB did not take a batch of points. */
  INFLUX_WRITE: { retriable: true, oneLine: false },
  /** Grafana refused a step of `npm run dashboards -- --push`. */
  GRAFANA_PUSH: { retriable: false, oneLine: false },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * The API's error replies: the `error` code of the body (`{ error, message }`) and its HTTP status.
 * Every 4xx/5xx the API sends is one of these (api/errors.ts `sendError`).
 */
export const API_ERRORS = {
  /** The request does not fit its schema (the message names the field). */
  'bad-request': 400,
  /** No valid bearer token (or, without API_TOKENS, not from this host). */
  unauthorized: 401,
  /** The token's role may not do this. */
  forbidden: 403,
  'not-found': 404,
  /** A registry import or change has invalid rows (the reply lists them: row, id, reason); nothing was applied. */
  'invalid-rows': 400,
  /** A node or gateway with that id is in service already (POST creates; PATCH changes). */
  exists: 409,
  /** The alert is already resolved. */
  'not-active': 409,
  /** No MQTT credential store in this process. */
  'not-here': 409,
  'invalid-credentials': 422,
  'rate-limited': 429,
  /** Too many live streams for this token (429) or for the server (`streams-full`, 503). */
  'too-many-streams': 429,
  'streams-full': 503,
  /** KPIs have not been evaluated yet, or (an alert change) no instance is aggregating right now. */
  'not-ready': 503,
  internal: 500,
} as const satisfies Record<string, number>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** Base of every error in the catalogue. */
export abstract class CityBrainError extends Error {
  abstract get code(): ErrorCode;
  /** The HTTP status an API reply for this error carries, where it has one. */
  get httpStatus(): number | undefined {
    const spec: ErrorSpec = ERRORS[this.code];
    return spec.status;
  }
  /** Whether trying the same thing again may succeed. */
  get retriable(): boolean {
    return ERRORS[this.code].retriable;
  }
}

/** The base class of the errors of one code. */
function ofCode<C extends ErrorCode>(code: C) {
  return class extends CityBrainError {
    get code(): C {
      return code;
    }
  };
}

/** The user's input is at fault: the CLI prints the message alone, in one line, and exits 2. */
export function isOneLineError(error: unknown): error is CityBrainError {
  return error instanceof CityBrainError && ERRORS[error.code].oneLine;
}

export class ConfigError extends ofCode('CONFIG_INVALID') {
  override name = 'ConfigError';
}

export class RegistryError extends ofCode('REGISTRY_INVALID') {
  override name = 'RegistryError';
}

export class ProfileError extends ofCode('PROFILE_INVALID') {
  override name = 'ProfileError';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${file}: ${path || '(profile)'}: ${reason}`);
  }
}

export class CredentialsError extends ofCode('CREDENTIALS_INVALID') {
  override name = 'CredentialsError';
}

/** `city-brain` was called with an unknown command or flag. */
export class UsageError extends ofCode('USAGE') {}

/** `city-brain simulate` flags. */
export class SimulateUsageError extends ofCode('USAGE') {
  override name = 'SimulateUsageError';
}

/** `npm run bench` flags. */
export class BenchUsageError extends ofCode('USAGE') {
  override name = 'BenchUsageError';
}

export class StageError extends ofCode('STAGE') {}

/** Retrying helps unless the service refused the request itself: a 4xx other than 408 and 429. */
export function retriableStatus(status: number): boolean {
  return status < 400 || status >= 500 || status === 408 || status === 429;
}

/** A service the sinks post to answered with an error status (the sinks' one HTTP error). */
export class HttpError extends ofCode('UPSTREAM_HTTP') {
  constructor(
    service: string,
    readonly status: number,
    body: string,
  ) {
    super(`${service} answered HTTP ${status}: ${body.trim().slice(0, 300)}`);
  }
  override get retriable(): boolean {
    return retriableStatus(this.status);
  }
}

/** The sinks' retry policy: a network failure or timeout may pass, an error answer only if its status says so. */
export function retriable(error: unknown): boolean {
  return error instanceof CityBrainError ? error.retriable : true;
}

export class InfluxWriteError extends ofCode('INFLUX_WRITE') {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

export class GrafanaPushError extends ofCode('GRAFANA_PUSH') {}

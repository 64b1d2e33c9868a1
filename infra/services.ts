/**
 * The local services `infra:up` / `infra:down` know. Each lives in its own module under
 * infra/<service>/ and is one line in SERVICES below.
 */
import { kafkaService } from './kafka/service.js';
import { influxdbService } from './influxdb/service.js';
import { alertmanagerService } from './alertmanager/service.js';
import { mosquittoService } from './mosquitto/service.js';

export interface UpContext {
  /** The state directory (`.infra/`): pid files, env file, logs. */
  stateDir: string;
  /** Where this service may keep its data; removed by `down`. */
  dataDir: string;
  /** Where its stdout/stderr go. */
  logFile: string;
  log: (line: string) => void;
}

export interface StartedService {
  /** Pid to end on `down` (the leader of the service's process group). */
  pid: number;
  /** Lines written to `.infra/env`, e.g. KAFKA_BROKERS. */
  env: Record<string, string>;
  /** A substring of the process's command line, so `down` never signals a reused pid. */
  commandMatch: string;
  /** One line for the user, e.g. the address. */
  summary: string;
}

export interface ServiceModule {
  name: string;
  /** Starts the service so that it outlives the CLI, and resolves once it serves. */
  up(ctx: UpContext): Promise<StartedService>;
}

export const SERVICES: ServiceModule[] = [kafkaService, influxdbService, alertmanagerService, mosquittoService];

/**
 * Local real services without Docker, for development and tests.
 *
 *   npm run infra:up [-- service...]     start (default: every known service), detached; wait until
 *                                        they serve; write their addresses to .infra/env
 *   npm run infra:down [-- service...]   stop what `up` started, remove their data and env lines
 *   node dist/infra/cli.js status        what runs
 *
 * State lives in .infra/ (or $CITY_BRAIN_INFRA_DIR): <service>.pid, <service>.json, <service>.log,
 * data/<service>/, env.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { removeEnvKeys, setEnvKeys } from './env-file.js';
import { isAlive, terminate } from './process.js';
import { SERVICES, type ServiceModule } from './services.js';

interface ServiceState {
  service: string;
  pid: number;
  env: Record<string, string>;
  commandMatch: string;
  dataDir: string;
  logFile: string;
  summary: string;
  startedAt: string;
}

const stateDir = resolve(process.env.CITY_BRAIN_INFRA_DIR ?? '.infra');
const envFile = join(stateDir, 'env');
const paths = (name: string) => ({
  pid: join(stateDir, `${name}.pid`),
  state: join(stateDir, `${name}.json`),
  log: join(stateDir, `${name}.log`),
  data: join(stateDir, 'data', name),
});

function say(line: string): void {
  process.stdout.write(`infra: ${line}\n`);
}

function readState(name: string): ServiceState | null {
  const p = paths(name);
  if (existsSync(p.state)) {
    try {
      return JSON.parse(readFileSync(p.state, 'utf8')) as ServiceState;
    } catch {
      /* fall through to the pid file */
    }
  }
  if (existsSync(p.pid)) {
    const pid = Number(readFileSync(p.pid, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0)
      return { service: name, pid, env: {}, commandMatch: '', dataDir: p.data, logFile: p.log, summary: '', startedAt: '' };
  }
  return null;
}

/** Alive and still the process we started (pids get reused). */
function running(state: ServiceState): boolean {
  if (!isAlive(state.pid)) return false;
  if (!state.commandMatch) return true;
  try {
    return readFileSync(`/proc/${state.pid}/cmdline`, 'utf8').includes(state.commandMatch);
  } catch {
    return true; // no /proc: trust the pid file
  }
}

function pick(names: string[]): ServiceModule[] {
  if (names.length === 0) return SERVICES;
  const known = SERVICES.map((s) => s.name);
  return names.map((name) => {
    const service = SERVICES.find((s) => s.name === name);
    if (!service) throw new Error(`unknown service "${name}" (known: ${known.join(', ')})`);
    return service;
  });
}

async function down(service: ServiceModule): Promise<void> {
  const p = paths(service.name);
  const state = readState(service.name);
  if (!state) {
    say(`${service.name}: not running (no ${p.pid})`);
  } else if (running(state)) {
    say(`${service.name}: stopping pid ${state.pid} ...`);
    await terminate(state.pid, { group: true });
    say(`${service.name}: stopped`);
  } else {
    say(`${service.name}: pid ${state.pid} was not running; cleaning up`);
  }
  rmSync(state?.dataDir ?? p.data, { recursive: true, force: true });
  const dataRoot = join(stateDir, 'data');
  if (existsSync(dataRoot) && readdirSync(dataRoot).length === 0) rmSync(dataRoot, { recursive: true });
  removeEnvKeys(envFile, Object.keys(state?.env ?? {}));
  rmSync(p.pid, { force: true });
  rmSync(p.state, { force: true });
}

async function up(service: ServiceModule): Promise<void> {
  const p = paths(service.name);
  const previous = readState(service.name);
  if (previous && running(previous)) {
    setEnvKeys(envFile, previous.env);
    say(`${service.name}: already running (pid ${previous.pid}) ${previous.summary}`);
    return;
  }
  if (previous) await down(service);
  rmSync(p.data, { recursive: true, force: true });
  mkdirSync(p.data, { recursive: true });
  const started = await service.up({ stateDir, dataDir: p.data, logFile: p.log, log: (line) => say(`${service.name}: ${line}`) });
  const state: ServiceState = { service: service.name, ...started, dataDir: p.data, logFile: p.log, startedAt: new Date().toISOString() };
  writeFileSync(p.pid, `${started.pid}\n`);
  writeFileSync(p.state, `${JSON.stringify(state, null, 2)}\n`);
  setEnvKeys(envFile, started.env);
  say(`${service.name}: ${started.summary}`);
}

function status(): void {
  for (const service of SERVICES) {
    const state = readState(service.name);
    say(`${service.name}: ${state && running(state) ? `running (pid ${state.pid}) ${state.summary}` : 'not running'}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...names] = argv;
  mkdirSync(stateDir, { recursive: true });
  switch (command) {
    case 'up':
      for (const service of pick(names)) await up(service);
      say(`addresses in ${envFile}`);
      return;
    case 'down':
      // Reverse order: later services may depend on earlier ones.
      for (const service of [...pick(names)].reverse()) await down(service);
      return;
    case 'status':
      return status();
    default:
      throw new Error(`usage: cli.js up|down|status [service...] (services: ${SERVICES.map((s) => s.name).join(', ')})`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`infra: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

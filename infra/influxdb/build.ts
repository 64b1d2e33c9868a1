/**
 * The InfluxDB OSS 1.x server binary (`influxd`), built from source once through the Go module
 * proxy and cached, without Docker:
 *
 *   $CITY_BRAIN_CACHE/influxdb-<version>/bin/influxd   (default cache $XDG_CACHE_HOME/city-brain,
 *                                                        else ~/.cache/city-brain)
 *
 * The build is what `go install` does, in two steps (both under `nice -n 19`):
 *
 *   GOBIN=<staging>/tools go install github.com/influxdata/pkg-config@v0.3.0
 *   PKG_CONFIG=<staging>/tools/pkg-config RUSTUP_TOOLCHAIN=stable GOTOOLCHAIN=local CGO_ENABLED=1 \
 *     GOFLAGS='-mod=mod -buildvcs=false' GOBIN=<staging>/bin \
 *     go install -v -ldflags '-X main.version=1.13.2 -X main.branch=v1.13.2 -X main.commit=go-module-proxy' \
 *       github.com/influxdata/influxdb/cmd/influxd@v1.13.2
 *
 * influxd links Flux, whose core (libflux) is Rust: when cgo asks `pkg-config flux`, InfluxData's
 * pkg-config wrapper copies the flux module into $GOCACHE/pkgconfig/, runs `cargo build --release`
 * there (crates from crates.io) and hands cgo the static library. flux pins its Rust toolchain in
 * rust-toolchain.toml; RUSTUP_TOOLCHAIN=stable makes rustup use the installed stable one instead of
 * downloading the pinned one. The system pkg-config must be on PATH (the wrapper delegates to it).
 *
 * Cold, this took 7.9 min on 2 cores (cargo for libflux, then ~1100 Go packages and the link); with
 * warm Go and cargo caches ($GOCACHE, ~/.cargo) about 45 s. Afterwards the cached binary
 * is used as is. Several processes may ask at once: one builds (a lock dir), the others wait.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheRoot } from '../kafka/dist.js';
import { isAlive, run, tail } from '../process.js';

/** Newest InfluxDB OSS 1.x release the Go module proxy serves (overridable by CITY_BRAIN_INFLUXDB_VERSION). */
export const INFLUXDB_VERSION = 'v1.13.2';
/** The pkg-config wrapper version that influxdb v1.13.2's go.mod requires. */
export const PKG_CONFIG_WRAPPER_VERSION = 'v0.3.0';

const MARKER = '.complete';

export function influxdbVersion(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.CITY_BRAIN_INFLUXDB_VERSION?.trim() || INFLUXDB_VERSION;
  return v.startsWith('v') ? v : `v${v}`;
}

/** `<cache>/influxdb-<version>` (version without the leading v). */
export function influxdbHome(version = influxdbVersion(), env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), `influxdb-${version.replace(/^v/, '')}`);
}

/** The cached binary if a complete build is there, else null. */
export function cachedInfluxd(version = influxdbVersion()): string | null {
  const home = influxdbHome(version);
  const binary = join(home, 'bin', 'influxd');
  return existsSync(join(home, MARKER)) && existsSync(binary) ? binary : null;
}

export interface InfluxdBinary {
  binary: string;
  version: string;
  /** Whether this call built it. */
  built: boolean;
  /** Build wall time in ms (0 when it came from the cache). */
  buildMs: number;
}

export interface EnsureInfluxdOptions {
  version?: string;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
  /** Niceness of the build processes (`nice -n`); default 19 (CITY_BRAIN_BUILD_NICE), null for none. */
  nice?: number | null;
  /** Give up waiting for another process's build after this long; default 90 min. */
  waitTimeoutMs?: number;
}

/**
 * Returns the cached influxd, building it when missing. Throws with the failing command and the
 * tail of its output (the full output stays in `<home>/build.log`).
 */
export async function ensureInfluxd(options: EnsureInfluxdOptions = {}): Promise<InfluxdBinary> {
  const version = influxdbVersion(options.version ? { CITY_BRAIN_INFLUXDB_VERSION: options.version } : process.env);
  const log = options.log ?? (() => {});
  const cached = cachedInfluxd(version);
  if (cached) return { binary: cached, version, built: false, buildMs: 0 };

  const home = influxdbHome(version);
  mkdirSync(home, { recursive: true });
  const lock = join(home, 'build.lock');
  const until = Date.now() + (options.waitTimeoutMs ?? 90 * 60_000);
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), `${process.pid}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = lockOwner(lock);
    if (owner === null || !isAlive(owner)) {
      // Stale (its builder died) or just being created: take it over if still stale a moment later.
      await sleep(1000);
      if (lockOwner(lock) === owner && (owner === null || !isAlive(owner))) rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log(`another process (pid ${owner}) is building influxd ${version} into ${home}; waiting (its output: ${join(home, 'build.log')})`);
      announced = true;
    }
    if (Date.now() > until) throw new Error(`gave up waiting for pid ${owner} to build influxd ${version} (lock ${lock})`);
    await sleep(2000);
    const done = cachedInfluxd(version);
    if (done) return { binary: done, version, built: false, buildMs: 0 };
  }

  try {
    const done = cachedInfluxd(version);
    if (done) return { binary: done, version, built: false, buildMs: 0 };
    // Staging dirs of builds that died (we hold the lock, so none is in use).
    for (const entry of readdirSync(home)) if (entry.startsWith('staging-')) rmSync(join(home, entry), { recursive: true, force: true });
    return await build(version, home, log, options.nice === undefined ? niceFromEnv() : options.nice);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function lockOwner(lock: string): number | null {
  try {
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function niceFromEnv(): number | null {
  const raw = process.env.CITY_BRAIN_BUILD_NICE?.trim();
  if (raw === undefined || raw === '') return 19;
  if (raw === 'none' || raw === 'off') return null;
  const n = Number(raw);
  return Number.isInteger(n) ? n : 19;
}

async function preflight(): Promise<void> {
  const needs: Array<[string, string[], string]> = [
    ['go', ['version'], 'Go 1.26+ (the influxdb v1.13 module needs go >= 1.26)'],
    ['cargo', ['--version'], 'Rust/cargo (rustup with a stable toolchain) for libflux'],
    ['pkg-config', ['--version'], 'the system pkg-config (apt-get install pkg-config); the InfluxData wrapper delegates to it'],
    ['cc', ['--version'], 'a C compiler for cgo (apt-get install gcc)'],
  ];
  const missing: string[] = [];
  for (const [cmd, args, why] of needs) {
    try {
      const r = await run(cmd, args);
      if (r.code !== 0)
        missing.push(
          `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.output.trim().split('\n').slice(-3).join(' | ')} — needed: ${why}`,
        );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') missing.push(`${cmd} not found on PATH — needed: ${why}`);
      else throw error;
    }
  }
  if (missing.length > 0) throw new Error(`cannot build influxd:\n  ${missing.join('\n  ')}`);
}

/** Quotes for display in a copy-pasteable shell line. */
const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

interface Step {
  title: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

async function build(version: string, home: string, log: (line: string) => void, nice: number | null): Promise<InfluxdBinary> {
  await preflight();
  const staging = join(home, `staging-${process.pid}-${Date.now()}`);
  const tools = join(staging, 'tools');
  const bin = join(staging, 'bin');
  mkdirSync(tools, { recursive: true });
  mkdirSync(bin, { recursive: true });
  const buildLog = join(home, 'build.log');
  // The pkg-config wrapper's own log (module root, cargo command, cargo's output on failure).
  const wrapperLog = join(home, 'pkg-config.log');
  writeFileSync(buildLog, '');
  writeFileSync(wrapperLog, '');
  const plain = version.replace(/^v/, '');
  const wrapper = join(tools, 'pkg-config');
  const common: Record<string, string> = {
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=mod -buildvcs=false',
    CGO_ENABLED: '1',
  };
  const steps: Step[] = [
    {
      title: `InfluxData pkg-config wrapper ${PKG_CONFIG_WRAPPER_VERSION}`,
      command: 'go',
      args: ['install', `github.com/influxdata/pkg-config@${PKG_CONFIG_WRAPPER_VERSION}`],
      env: { ...common, GOBIN: tools },
    },
    {
      title: `influxd ${version} (with libflux via cargo)`,
      command: 'go',
      args: [
        'install',
        '-v',
        '-ldflags',
        `-X main.version=${plain} -X main.branch=${version} -X main.commit=go-module-proxy`,
        `github.com/influxdata/influxdb/cmd/influxd@${version}`,
      ],
      env: { ...common, GOBIN: bin, PKG_CONFIG: wrapper, RUSTUP_TOOLCHAIN: 'stable', PKG_CONFIG_LOG: wrapperLog },
    },
  ];

  const started = Date.now();
  log(
    `building InfluxDB ${version} from source into ${home} (once; slow: Rust libflux + Go, ${nice === null ? 'not niced' : `nice -n ${nice}`}; output in ${buildLog})`,
  );
  try {
    for (const step of steps) await runStep(step, buildLog, log, nice);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const built = join(bin, 'influxd');
  if (!existsSync(built)) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`go install reported success but produced no ${built}`);
  }
  const finalBin = join(home, 'bin');
  rmSync(finalBin, { recursive: true, force: true });
  renameSync(bin, finalBin);
  rmSync(staging, { recursive: true, force: true });
  const buildMs = Date.now() - started;
  const binary = join(finalBin, 'influxd');
  writeFileSync(
    join(home, MARKER),
    `${JSON.stringify({ version, builtAt: new Date().toISOString(), buildMs, bytes: statSync(binary).size, commands: steps.map((s) => display(s, nice)) }, null, 2)}\n`,
  );
  log(
    `built influxd ${version} in ${(buildMs / 60_000).toFixed(1)} min: ${binary} (${(statSync(binary).size / 1_048_576).toFixed(1)} MiB)`,
  );
  return { binary, version, built: true, buildMs };
}

function display(step: Step, nice: number | null): string {
  const env = Object.entries(step.env).map(([k, v]) => `${k}=${q(v)}`);
  return [...env, ...(nice === null ? [] : ['nice', '-n', String(nice)]), step.command, ...step.args.map(q)].join(' ');
}

/** Runs one build step with its output appended to buildLog; logs progress every minute. */
function runStep(step: Step, buildLog: string, log: (line: string) => void, nice: number | null): Promise<void> {
  const shown = display(step, nice);
  log(`${step.title}: ${shown}`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...step.env };
  // Variables that would send cargo's output where the wrapper does not look for it.
  delete env.CARGO_TARGET_DIR;
  delete env.CARGO_BUILD_TARGET;
  const [cmd, args] = nice === null ? [step.command, step.args] : ['nice', ['-n', String(nice), step.command, ...step.args]];
  const fd = openSync(buildLog, 'a');
  writeSync(fd, `\n$ ${shown}\n`);
  const started = Date.now();
  return new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let last = '';
    let packages = 0;
    const onData = (chunk: Buffer) => {
      writeSync(fd, chunk);
      const lines = chunk
        .toString()
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      // `go install -v` prints one import path per package it compiles.
      for (const line of lines) if (!/\s/.test(line) && !line.startsWith('go:')) packages += 1;
      if (lines.length > 0) last = lines[lines.length - 1]!;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setInterval(() => {
      const min = ((Date.now() - started) / 60_000).toFixed(1);
      log(
        `  ... ${step.title}: ${min} min${packages ? `, ${packages} packages so far` : ''}${last ? `, last: ${last.slice(0, 120)}` : ''}`,
      );
    }, 60_000);
    const finish = (error: Error | null) => {
      clearInterval(timer);
      closeSync(fd);
      if (error) reject(error);
      else resolve();
    };
    child.once('error', (error) => finish(new Error(`could not start ${cmd}: ${error.message} (command: ${shown})`)));
    child.once('close', (code, signal) => {
      if (code === 0) {
        log(`  ${step.title}: done in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
        return finish(null);
      }
      finish(
        new Error(
          `build step failed (${signal ?? `exit ${code}`}): ${shown}\n--- last lines of ${buildLog} (the pkg-config wrapper's log, with cargo's output: ${join(dirname(buildLog), 'pkg-config.log')}) ---\n${tail(buildLog, 40).replace(/^/gm, '  ')}`,
        ),
      );
    });
  });
}

/** CLI: `node dist/infra/influxdb/build.js` builds (or finds) the cached binary and prints its path. */
if (process.argv[1] && /[\\/]influxdb[\\/]build\.(js|ts)$/.test(process.argv[1])) {
  ensureInfluxd({ log: (line) => process.stderr.write(`influxdb: ${line}\n`) }).then(
    (r) => process.stdout.write(`${r.binary}\n`),
    (error: unknown) => {
      process.stderr.write(`influxdb: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

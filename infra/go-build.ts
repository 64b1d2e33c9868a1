/**
 * A small Go program of this repository (its own folder with go.mod / go.sum), built once and
 * cached like influxd (infra/influxdb/build.ts) and the Kafka jars, so tests do not rebuild it:
 *
 *   $CITY_BRAIN_CACHE/go-<name>-<hash>/<name>   (default cache $XDG_CACHE_HOME/city-brain, else ~/.cache/city-brain)
 *
 * `<hash>` covers the program's go.mod, go.sum and *.go files and `go version`: a change to any
 * builds anew, an unchanged program is reused across runs and checkouts. The build is
 *
 *   GOTOOLCHAIN=local GOFLAGS='-mod=readonly -buildvcs=false' CGO_ENABLED=0 go build -trimpath -o <staging> .
 *
 * in the program's folder (modules from the Go module proxy, checked against go.sum), into a
 * staging file renamed into place: processes building at once each finish and none sees half a binary.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cacheRoot } from './kafka/dist.js';
import { run } from './process.js';

export interface GoProgram {
  binary: string;
  /** Whether this call built it (false: from the cache). */
  built: boolean;
}

const GO_ENV = { GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly -buildvcs=false', CGO_ENABLED: '0' } as const;

/** `go version`, or an error naming what to install. */
async function goVersion(needed: string): Promise<string> {
  try {
    const r = await run('go', ['version']);
    if (r.code === 0) return r.output.trim();
    throw new Error(`\`go version\` failed (exit ${r.code}): ${r.output.trim()} — needed: ${needed}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `go not found on PATH — needed: ${needed}; install Go (https://go.dev/dl/, or apt-get install golang-go if Debian's is new enough)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Returns the cached build of the Go main package in `dir`, building it when missing. `needed` says
 * why Go is needed (in the error when it is not there). Throws with the command and its output when
 * the build fails.
 */
export async function ensureGoProgram(
  dir: string,
  options: { name?: string; needed?: string; log?: (line: string) => void } = {},
): Promise<GoProgram> {
  const name = options.name ?? basename(dir);
  const version = await goVersion(options.needed ?? `Go 1.22+ to build ${dir}`);
  const hash = createHash('sha256').update(version);
  const sources = readdirSync(dir)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort();
  for (const f of sources) hash.update(`\0${f}\0`).update(readFileSync(join(dir, f)));
  const home = join(cacheRoot(), `go-${name}-${hash.digest('hex').slice(0, 16)}`);
  const binary = join(home, name);
  if (existsSync(binary)) return { binary, built: false };

  mkdirSync(home, { recursive: true });
  const staging = join(home, `.${name}-${process.pid}-${Date.now()}`);
  const args = ['build', '-trimpath', '-o', staging, '.'];
  options.log?.(
    `building ${name} (once, cached in ${home}): ${Object.entries(GO_ENV)
      .map(([k, v]) => `${k}=${v.includes(' ') ? `'${v}'` : v}`)
      .join(' ')} go ${args.join(' ')}`,
  );
  const r = await run('go', args, { cwd: dir, env: { ...process.env, ...GO_ENV } });
  if (r.code !== 0 || !existsSync(staging)) {
    rmSync(staging, { force: true });
    throw new Error(`go build of ${dir} failed (${r.signal ?? `exit ${r.code}`}):\n${r.output.trim().split('\n').slice(-30).join('\n')}`);
  }
  renameSync(staging, binary);
  return { binary, built: true };
}

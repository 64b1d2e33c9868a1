import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { run } from './process.js';

/** Where Debian puts packaged binaries, searched after PATH (root's sbin dirs are not always on it). */
const SYSTEM_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/sbin'];

/** A binary the caller names in `envVar` (used as is), else the first of `names` on PATH or in the system dirs; null when absent. */
export function findBinary(names: readonly string[], envVar: string): string | null {
  const fromEnv = process.env[envVar]?.trim();
  if (fromEnv) return fromEnv;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SYSTEM_DIRS];
  for (const name of names) {
    for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

export interface DebianBinary {
  /** Debian package that ships it, and the binary names it may have. */
  pkg: string;
  names: readonly string[];
  /** Environment variable that points at a binary instead. */
  envVar: string;
  /** Install the package when the binary is missing (needs root and apt-get). */
  install: boolean;
  log: (line: string) => void;
}

/** The binary, installing its Debian package first when it is missing and allowed; throws saying how to get it otherwise. */
export async function ensureDebianBinary(b: DebianBinary): Promise<string> {
  const found = findBinary(b.names, b.envVar);
  if (found) return found;
  const what = `no ${b.names.join(' / ')} binary on PATH or in ${SYSTEM_DIRS.join(', ')}`;
  const howTo = `install Debian's package (as root: apt-get update && apt-get install -y ${b.pkg}) or set ${b.envVar}`;
  if (!b.install) throw new Error(`${what}: ${howTo}`);
  if (process.getuid?.() !== 0 || !findBinary(['apt-get'], 'APT_GET'))
    throw new Error(`${what}, and cannot install it here (needs root and apt-get): ${howTo}`);
  await aptInstall(b.pkg, b.log);
  const installed = findBinary(b.names, b.envVar);
  if (!installed) throw new Error(`apt-get installed ${b.pkg} but ${what}`);
  return installed;
}

/**
 * Installs one Debian package with apt-get; a failed install is retried once after
 * `apt-get update` (a fresh machine has no package lists). Throws with the tail of apt's output.
 */
export async function aptInstall(pkg: string, log: (line: string) => void): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing ${pkg} with apt-get ...`);
  let result = await run('apt-get', ['install', '-y', pkg], { env });
  if (result.code !== 0) {
    log('apt-get install failed; running apt-get update and trying again ...');
    await run('apt-get', ['update'], { env });
    result = await run('apt-get', ['install', '-y', pkg], { env });
  }
  if (result.code !== 0)
    throw new Error(`apt-get install -y ${pkg} failed (exit ${result.code}): ${result.output.trim().split('\n').slice(-10).join('\n')}`);
}

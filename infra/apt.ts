import { run } from './process.js';

/**
 * Installs one Debian package with apt-get (the caller checked we are root and apt-get exists);
 * a failed install is retried once after `apt-get update` (a fresh machine has no package lists).
 * Throws with the tail of apt's output when it still fails.
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
  if (result.code !== 0) throw new Error(`apt-get install -y ${pkg} failed (exit ${result.code}): ${result.output.trim().split('\n').slice(-10).join('\n')}`);
}

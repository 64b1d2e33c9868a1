/**
 * The Kafka jars: fetched once from Maven Central with infra/kafka/pom.xml into a cache directory
 * reused across runs and checkouts, `$CITY_BRAIN_CACHE/kafka-<version>/libs` (default cache
 * `$XDG_CACHE_HOME/city-brain`, else `~/.cache/city-brain`). Downloaded only when missing or
 * incomplete.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../process.js';

/** Apache Kafka release served by Maven Central as org.apache.kafka:kafka_2.13 (overridable by CITY_BRAIN_KAFKA_VERSION). */
export const KAFKA_VERSION = '4.4.0';

/** Jars that must be present for the cache to count as complete (plus the marker file). */
const REQUIRED = (version: string) => [
  `kafka_2.13-${version}.jar`,
  `kafka-server-${version}.jar`,
  `kafka-clients-${version}.jar`,
  `kafka-raft-${version}.jar`,
  `kafka-storage-${version}.jar`,
];
const MARKER = '.complete';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CITY_BRAIN_CACHE) return resolve(env.CITY_BRAIN_CACHE);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'city-brain');
}

export function kafkaVersion(env: NodeJS.ProcessEnv = process.env): string {
  return env.CITY_BRAIN_KAFKA_VERSION?.trim() || KAFKA_VERSION;
}

/** infra/kafka/pom.xml, found from the source tree (vitest) or from dist/infra/kafka (compiled CLI). */
export function pomPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  const beside = join(dir, 'pom.xml');
  if (existsSync(beside)) return beside;
  for (;;) {
    const candidate = join(dir, 'infra', 'kafka', 'pom.xml');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`infra/kafka/pom.xml not found above ${dirname(fileURLToPath(import.meta.url))}`);
    dir = parent;
  }
}

function complete(libs: string, version: string): boolean {
  if (!existsSync(join(libs, MARKER))) return false;
  const present = new Set(readdirSync(libs));
  const listed = readFileSync(join(libs, MARKER), 'utf8').split('\n').filter(Boolean);
  return REQUIRED(version).every((jar) => present.has(jar)) && listed.every((jar) => present.has(jar));
}

export interface KafkaLibs {
  version: string;
  /** Directory holding every jar; the classpath is `<dir>/*`. */
  dir: string;
  /** Whether this call downloaded them. */
  downloaded: boolean;
}

/**
 * Returns the cached jars of the Kafka release, fetching them with Maven when the cache is
 * missing or incomplete. Safe to call from several processes at once (each downloads into its
 * own temp dir and the first complete one is renamed into place).
 */
export async function kafkaLibs(options: { version?: string; log?: (line: string) => void } = {}): Promise<KafkaLibs> {
  const version = options.version ?? kafkaVersion();
  const home = join(cacheRoot(), `kafka-${version}`);
  const libs = join(home, 'libs');
  if (complete(libs, version)) return { version, dir: libs, downloaded: false };

  mkdirSync(home, { recursive: true });
  const staging = join(home, `libs.tmp-${process.pid}-${Date.now()}`);
  const pom = pomPath();
  const args = [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    pom,
    `-Dkafka.version=${version}`,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${staging}`,
    '-DincludeScope=runtime',
  ];
  const command = `mvn ${args.join(' ')}`;
  options.log?.(`fetching Apache Kafka ${version} jars from Maven Central into ${libs} (once) ...`);
  let result;
  try {
    result = await run('mvn', args);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`mvn not found on PATH: Maven is needed once to fetch the Kafka jars (command: ${command})`, { cause: error });
    throw error;
  }
  if (result.code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    if (readdirSync(home).length === 0) rmSync(home, { recursive: true, force: true });
    const detail = mavenErrors(result.output);
    throw new Error(`Maven failed (exit ${result.code ?? result.signal}): ${command}${detail ? `\n${detail}` : ''}`);
  }
  const jars = readdirSync(staging).filter((f) => f.endsWith('.jar'));
  const missing = REQUIRED(version).filter((jar) => !jars.includes(jar));
  if (missing.length > 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`Maven fetched no ${missing.join(', ')} (command: ${command})`);
  }
  writeFileSync(join(staging, MARKER), `${jars.sort().join('\n')}\n`);
  if (complete(libs, version)) {
    // Another process finished first.
    rmSync(staging, { recursive: true, force: true });
  } else {
    rmSync(libs, { recursive: true, force: true });
    try {
      renameSync(staging, libs);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if (!complete(libs, version)) throw error;
    }
  }
  return { version, dir: libs, downloaded: true };
}

/** The meaningful [ERROR] lines of Maven's output (without its help boilerplate), else its tail. */
function mavenErrors(output: string): string {
  const clean = output
    // eslint-disable-next-line no-control-regex -- strips ANSI colour codes (ESC [ ... m) from Maven's output
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trimEnd());
  const errors = clean.filter(
    (l) => /^\[ERROR\] \S/.test(l) && !/re-run Maven|full stack trace|For more information|\[Help \d+\] http/i.test(l),
  );
  return (errors.length > 0 ? errors : clean.filter(Boolean).slice(-15)).join('\n');
}

/** Fails with one clear line when no usable Java (17+, which Kafka 4 needs) is on PATH. */
export async function checkJava(java = process.env.JAVA ?? 'java'): Promise<void> {
  let result;
  try {
    result = await run(java, ['-version']);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(
        `${java} not found on PATH: Kafka ${kafkaVersion()} needs Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless)`,
        { cause: error },
      );
    throw error;
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.output);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (result.code !== 0 || !(major >= 17)) {
    throw new Error(
      `${java} -version: Kafka ${kafkaVersion()} needs Java 17 or newer, found: ${result.output.split('\n')[0]?.trim() || `exit ${result.code}`}`,
    );
  }
}

/**
 * Kafka's own tools jar (org.apache.kafka:kafka-tools, e.g. ProducerPerformance for the benchmark's
 * baseline), fetched once beside the broker jars into `<cache>/kafka-<version>/tools`. Its
 * dependencies are the broker's: the classpath is `<libs>/*:<tools>/*`.
 */
export async function kafkaToolsLibs(
  options: { version?: string; log?: (line: string) => void } = {},
): Promise<{ version: string; classpath: string; downloaded: boolean }> {
  const libs = await kafkaLibs(options);
  const version = libs.version;
  const dir = join(cacheRoot(), `kafka-${version}`, 'tools');
  const jar = `kafka-tools-${version}.jar`;
  const classpath = `${libs.dir}/*:${dir}/*`;
  if (existsSync(join(dir, jar))) return { version, classpath, downloaded: false };
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const args = [
    '-q',
    '-B',
    '-Dstyle.color=never',
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy',
    `-Dartifact=org.apache.kafka:kafka-tools:${version}`,
    `-DoutputDirectory=${staging}`,
  ];
  options.log?.(`fetching ${jar} from Maven Central into ${dir} (once) ...`);
  let result;
  try {
    result = await run('mvn', args);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`mvn not found on PATH: Maven is needed once to fetch ${jar} (command: mvn ${args.join(' ')})`, { cause: error });
    throw error;
  }
  if (result.code !== 0 || !existsSync(join(staging, jar))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `Maven failed to fetch ${jar} (exit ${result.code ?? result.signal}): mvn ${args.join(' ')}\n${mavenErrors(result.output)}`,
    );
  }
  if (!existsSync(join(dir, jar))) {
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(staging, dir);
    } catch (error) {
      if (!existsSync(join(dir, jar))) throw error;
    }
  }
  rmSync(staging, { recursive: true, force: true });
  return { version, classpath, downloaded: true };
}

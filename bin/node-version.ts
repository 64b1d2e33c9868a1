/**
 * The oldest Node this runs on (package.json `engines`). An older one starts, then fails every
 * evaluation (it lacks `process.threadCpuUsage`, which paces them); run through npm (`npm start`,
 * `npx city-brain`), the project's own Node is used.
 */
export const NODE_REQUIRED = { major: 24, minor: 11 } as const;

/** Why `version` (process.versions.node) cannot run the pipeline, in one line; undefined when it can. */
export function nodeTooOld(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const { major: m, minor: n } = NODE_REQUIRED;
  if (major > m || (major === m && minor >= n)) return undefined;
  return `needs Node ${m}.${n} or later, and this is Node ${version}: run it through npm (npm start, npm run demo, npx city-brain ...), which uses the Node the project installs (npm ci)`;
}

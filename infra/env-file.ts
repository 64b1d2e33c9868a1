/**
 * `.infra/env`: KEY=VALUE lines, one per variable, shared by every local service. Each service
 * sets and removes only its own keys; other lines (and comments) stay as they are.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line, i, all) => line !== '' || i < all.length - 1);
}

const keyOf = (line: string) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];

function write(file: string, content: string[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content.length > 0 ? `${content.join('\n')}\n` : '');
  renameSync(tmp, file);
}

export function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines(file)) {
    const key = keyOf(line);
    if (key) out[key] = line.slice(line.indexOf('=') + 1).trim();
  }
  return out;
}

/** Sets (replaces or appends) the given keys. */
export function setEnvKeys(file: string, values: Record<string, string>): void {
  const pending = new Map(Object.entries(values));
  const out = lines(file).flatMap((line) => {
    const key = keyOf(line);
    if (key === undefined || !Object.hasOwn(values, key)) return [line];
    if (!pending.has(key)) return []; // a duplicate of a key already rewritten
    const value = pending.get(key)!;
    pending.delete(key);
    return [`${key}=${value}`];
  });
  for (const [key, value] of pending) out.push(`${key}=${value}`);
  write(file, out);
}

export function removeEnvKeys(file: string, keys: string[]): void {
  if (!existsSync(file)) return;
  write(
    file,
    lines(file).filter((line) => !keys.includes(keyOf(line) ?? '')),
  );
}

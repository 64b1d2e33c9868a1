import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { NodeRegistry } from '../../core/index.js';
import {
  credentialsToJson,
  CredentialsError,
  parseCredentials,
  principalsOf,
  provision,
  type CredentialEntry,
  type Principal,
} from './credentials.js';

export interface ProvisionFileOptions {
  registry: NodeRegistry;
  /** The credentials file the broker reads (hashes only); existing entries are kept. */
  out: string;
  /** Where the plaintext secrets of the new entries go, once (mode 0600; never overwritten). */
  secrets: string;
  /** Also give every node behind a gateway its own credentials. */
  allNodes?: boolean;
}

export interface DeviceSecret extends Principal {
  username: string;
  password: string;
}

/**
 * `city-brain credentials`: adds an entry for every gateway and every directly connected node the
 * credentials file does not have yet, and writes their secrets once to a separate file for the
 * devices. Running it again after the registry grew provisions only the new ones; existing
 * secrets are never re-issued (revoke by setting `"disabled": true`, or delete the entry and re-run).
 */
export async function provisionFile(
  options: ProvisionFileOptions,
): Promise<{ total: number; added: number; gateways: number; devices: number }> {
  const existing = await readFile(options.out, 'utf8').then(
    (text) => parseCredentials(text, options.out),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as CredentialEntry[];
      throw new CredentialsError(`credentials file ${options.out}: cannot read: ${error.code ?? error.message}`);
    },
  );
  const have = new Set(existing.map((e) => e.id));
  const wanted = principalsOf(options.registry, { allNodes: options.allNodes }).filter((p) => !have.has(p.id));
  const all = [...existing];
  if (wanted.length > 0) {
    const { entries, secrets } = await provision(wanted);
    const plain: DeviceSecret[] = secrets.map((s) => ({ type: s.type, id: s.id, username: s.id, password: s.password }));
    // Secrets first and exclusively ('wx'): if that fails, no hash exists without its secret.
    await writeFile(options.secrets, secretsToJson(plain), { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      throw new CredentialsError(
        error.code === 'EEXIST'
          ? `secrets file ${options.secrets} already exists; it is never overwritten (its secrets stay valid): move it away or pass another --secrets`
          : `secrets file ${options.secrets}: cannot write: ${error.code ?? error.message}`,
      );
    });
    for (const entry of entries) all.push(entry); // not push(...): 500,000 nodes with --all-nodes overflow the stack
    const tmp = `${options.out}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, credentialsToJson(all), { mode: 0o600 });
    await rename(tmp, options.out);
  }
  return {
    total: all.length,
    added: wanted.length,
    gateways: all.filter((e) => e.type === 'gateway').length,
    devices: all.filter((e) => e.type === 'device').length,
  };
}

export function secretsToJson(secrets: readonly DeviceSecret[]): string {
  return `${JSON.stringify({ version: 1, secrets }, null, 1)}\n`;
}

/** A secrets file (from `city-brain credentials`) as id -> secret, e.g. for the simulator. */
export async function loadDeviceSecrets(file: string): Promise<Map<string, string>> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CredentialsError(`secrets file ${file}: cannot read: ${error.code ?? error.message}`);
  });
  let body: { secrets?: { username?: unknown; password?: unknown }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new CredentialsError(`secrets file ${file}: not valid JSON`);
  }
  if (!Array.isArray(body.secrets))
    throw new CredentialsError(`secrets file ${file}: expected { "version": 1, "secrets": [ { "username", "password" } ] }`);
  const map = new Map<string, string>();
  body.secrets.forEach((s, i) => {
    if (typeof s?.username !== 'string' || typeof s.password !== 'string')
      throw new CredentialsError(`secrets file ${file}: entry ${i}: needs string username and password`);
    map.set(s.username, s.password);
  });
  return map;
}

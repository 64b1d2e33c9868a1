/** Test helpers: Alert records as the aggregator writes them, and a webhook receiver on loopback. */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert, Severity } from '../../../core/index.js';
import { fingerprint } from '../../alerts/fingerprint.js';

export function makeAlert(
  alertname: string,
  severity: Severity,
  labels: Record<string, string>,
  at: number,
  summary = `${alertname} ${JSON.stringify(labels)}`,
): Alert {
  const all = { ...labels, alertname, severity };
  return {
    id: fingerprint(all),
    alertname,
    severity,
    labels: all,
    summary,
    state: 'firing',
    startsAt: at - 60_000,
    firedAt: at,
    updatedAt: at,
  };
}

export const resolved = (alert: Alert, at: number): Alert => ({ ...alert, state: 'resolved', resolvedAt: at, updatedAt: at });

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

/** An HTTP server on 127.0.0.1 that records every POSTed JSON body (answers `status`, default 200). */
export async function recorder(): Promise<{ url: string; received: Received[]; status: { code: number }; close(): Promise<void> }> {
  const received: Received[] = [];
  const status = { code: 200 };
  const prefix = `/r-${randomUUID().slice(0, 8)}`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* keep text */
      }
      // Only requests under this recorder's own prefix count, with the prefix taken off: a server
      // of another test still posting to a recorder whose port this one reuses is not recorded.
      const url = req.url ?? '';
      if (url.startsWith(`${prefix}/`)) received.push({ path: url.slice(prefix.length), headers: req.headers, body });
      res.writeHead(status.code, { 'content-type': 'application/json' }).end(status.code < 300 ? '' : '{"message":"bad"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    received,
    status,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    await sleep(100);
  }
}

import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * An HTTP proxy in front of a real InfluxDB that counts, per point, how many writes carrying it
 * InfluxDB acknowledged (2xx) to the writer. InfluxDB alone cannot show a doubled write: a point
 * with the series and time of one it holds overwrites it. A point is named by its line's series
 * key (measurement and tags) and timestamp, so a point written again counts twice here even
 * though the database holds it once.
 *
 * Only responses delivered in full count: a write the writer gave up on (time-out, connection
 * closed) is not an acknowledgement, whatever InfluxDB did with it. When the upstream cannot be
 * reached the writer's connection is destroyed, as if InfluxDB were down. `halt()` refuses
 * connections (closes the listener and every open connection), `resume()` takes them again on the
 * same port.
 */
export interface InfluxWriteCounter {
  url: string;
  /** Acknowledged writes per point: `measurement,tags timestamp`. */
  readonly acknowledged: Map<string, number>;
  /** Write requests that got no acknowledgement (refused, failed upstream or abandoned by the writer). */
  readonly unacknowledged: number;
  /** Points whose count is not 1 (with their counts), optionally only of `measurements`. */
  notOnce(measurements?: readonly string[]): Record<string, number>;
  /** Acknowledged points of one measurement (each counted once, however often written). */
  points(measurement: string): number;
  halt(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** The series key (up to the first unescaped space) and the timestamp (after the last space) of a line. */
export function pointKey(line: string): string {
  let i = 0;
  while (i < line.length && line[i] !== ' ') i += line[i] === '\\' ? 2 : 1;
  return `${line.slice(0, i)} ${line.slice(line.lastIndexOf(' ') + 1)}`;
}

const measurementOf = (key: string) => {
  let i = 0;
  while (i < key.length && key[i] !== ',' && key[i] !== ' ') i += key[i] === '\\' ? 2 : 1;
  return key.slice(0, i);
};

export async function influxWriteCounter(upstream: string): Promise<InfluxWriteCounter> {
  const target = new URL(upstream);
  const acknowledged = new Map<string, number>();
  let unacknowledged = 0;
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isWrite = /\/(api\/v2\/)?write$/.test(new URL(req.url ?? '/', 'http://x').pathname);
      const up = request(
        { hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          const parts: Buffer[] = [];
          upRes.on('data', (c: Buffer) => parts.push(c));
          upRes.on('end', () => {
            const ok = (upRes.statusCode ?? 0) >= 200 && (upRes.statusCode ?? 0) < 300;
            if (isWrite) {
              res.once('finish', () => {
                if (!ok) return void unacknowledged++;
                const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
                for (const line of text.split('\n'))
                  if (line.trim()) acknowledged.set(pointKey(line), (acknowledged.get(pointKey(line)) ?? 0) + 1);
              });
              res.once('close', () => {
                if (!res.writableFinished) unacknowledged++;
              });
            }
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            res.end(Buffer.concat(parts));
          });
          upRes.on('error', () => req.socket.destroy());
        },
      );
      up.on('error', () => {
        if (isWrite) unacknowledged++;
        req.socket.destroy();
      });
      up.end(body);
    });
  };

  let server: Server = createServer(handle);
  const track = (s: Server) =>
    s.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const halt = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  return {
    url: `http://127.0.0.1:${port}`,
    acknowledged,
    get unacknowledged() {
      return unacknowledged;
    },
    notOnce(measurements) {
      return Object.fromEntries(
        [...acknowledged].filter(([key, n]) => n !== 1 && (!measurements || measurements.includes(measurementOf(key)))),
      );
    },
    points(measurement) {
      return [...acknowledged.keys()].filter((key) => measurementOf(key) === measurement).length;
    },
    halt,
    resume: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer(handle);
        track(server);
        server.once('error', reject).listen(port, '127.0.0.1', () => resolve());
      }),
    close: halt,
  };
}

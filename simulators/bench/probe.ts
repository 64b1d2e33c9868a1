import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import type { NodeOf } from '../../core/index.js';
import { applyPatch, type PatchOp } from '../../core/json-patch.js';

/**
 * Latency probes. Each probe is a parking detector of its own one-space lot (`LOT-BENCH-Pnn`), in
 * the registry the pipeline loads but not in the simulated city. A probe publishes a state change
 * (occupied <-> free) as a direct QoS 1 reading, stamped with the simulator's current simulated
 * time, and waits until the change is visible: for the pipeline, in the lot's `occupied` count of
 * the KPI document the API's live stream (`GET /api/v1/stream`) keeps current, i.e. after ingest, the log, the
 * processor, its partial and the aggregator's evaluation; for the Mosquitto baseline, when the
 * plain subscriber receives it. Latency = time seen - time just before the publish. Probes go in
 * the same queues as the load, so they sample the latency a reading published at that moment sees.
 */
export const PROBE_DISTRICT = 'Lixia';
export const probeNodeId = (k: number) => `PK-BENCH-P${String(k).padStart(2, '0')}`;
export const probeLotId = (k: number) => `LOT-BENCH-P${String(k).padStart(2, '0')}`;

export function probeNodes(count: number): NodeOf<'parking'>[] {
  return Array.from({ length: count }, (_, k) => ({
    nodeId: probeNodeId(k),
    kind: 'parking' as const,
    district: PROBE_DISTRICT,
    lat: 36.66,
    lon: 117.02,
    lotId: probeLotId(k),
    lotName: `Benchmark probe ${k}`,
    spaces: 1,
  }));
}

export interface ProbeSample {
  /** Wall time just before the publish. */
  publishedAt: number;
  latencyMs: number;
  /** Not seen yet when the step ended: latency is at least this (a lower bound). */
  censored?: boolean;
}

type Pending = { occupied: boolean; publishedAt: number };

/** Publishes probe state changes and matches what an observer reports back. */
export class Prober {
  readonly samples: ProbeSample[] = [];
  timeouts = 0;
  readonly #pending: (Pending | undefined)[];
  readonly #state: boolean[];
  readonly #lastTs: number[];
  readonly #timers = new Set<NodeJS.Timeout>();
  #client: MqttClient | undefined;
  #stopped = false;
  #now: () => number;

  constructor(
    readonly count: number,
    /** Simulated time to stamp a probe with. */
    simNow: () => number,
    readonly timeoutMs = 30_000,
  ) {
    this.#pending = new Array<Pending | undefined>(count).fill(undefined);
    this.#state = new Array<boolean>(count).fill(false);
    this.#lastTs = new Array<number>(count).fill(0);
    this.#now = simNow;
  }

  async start(url: string): Promise<void> {
    this.#client = await connectAsync(url, { clientId: `bench-probe-${process.pid}`.slice(0, 23), clean: true, reconnectPeriod: 1000 });
    for (let k = 0; k < this.count; k++) this.#schedule(k, Math.random() * 500);
  }

  #schedule(k: number, delayMs: number): void {
    if (this.#stopped) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#send(k);
    }, delayMs);
    this.#timers.add(t);
  }

  #send(k: number): void {
    if (this.#stopped || !this.#client) return;
    const occupied = !this.#state[k];
    const ts = Math.max(Math.floor(this.#now()), this.#lastTs[k]! + 1);
    this.#lastTs[k] = ts;
    const payload = JSON.stringify({ ts, status: occupied ? 'occupied' : 'free', heartbeat: false });
    const p: Pending = { occupied, publishedAt: Date.now() };
    this.#pending[k] = p;
    this.#client.publish(`city/${PROBE_DISTRICT}/parking/${probeNodeId(k)}/telemetry`, payload, { qos: 1 });
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (this.#pending[k] !== p) return;
      // Never seen: count it, and try again with the opposite state of what is now expected.
      this.timeouts++;
      this.samples.push({ publishedAt: p.publishedAt, latencyMs: this.timeoutMs, censored: true });
      this.#pending[k] = undefined;
      this.#state[k] = occupied;
      this.#send(k);
    }, this.timeoutMs);
    this.#timers.add(t);
  }

  /** An observer saw probe k in this state at wall time `at`. */
  observed(k: number, occupied: boolean, at: number): void {
    const p = this.#pending[k];
    if (!p || p.occupied !== occupied) return;
    this.#pending[k] = undefined;
    this.#state[k] = occupied;
    this.samples.push({ publishedAt: p.publishedAt, latencyMs: at - p.publishedAt });
    this.#schedule(k, 50 + Math.random() * 150);
  }

  /**
   * Samples of probes published in [from, to); probes still pending (also ones published before
   * `from`: a step slower than the probes' cycle has none of its own) count with their age so far,
   * a lower bound.
   */
  window(from: number, to: number, now = Date.now()): ProbeSample[] {
    const out = this.samples.filter((s) => s.publishedAt >= from && s.publishedAt < to);
    for (const p of this.#pending)
      if (p && p.publishedAt < to) out.push({ publishedAt: p.publishedAt, latencyMs: now - p.publishedAt, censored: true });
    return out;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#client?.endAsync().catch(() => undefined);
  }
}

const PROBE_LOT_PREFIX = 'LOT-BENCH-P';

/** Probe states in a KPI document (the probe lots of `parking.list`): occupied, free, or absent when unknown. */
export function probeStatesInKpis(kpis: {
  parking?: { list?: { lotId: string; occupied?: number; free?: number }[] };
}): Map<number, boolean> {
  const out = new Map<number, boolean>();
  for (const lot of kpis.parking?.list ?? []) {
    if (!lot.lotId.startsWith(PROBE_LOT_PREFIX)) continue;
    const k = Number(lot.lotId.slice(PROBE_LOT_PREFIX.length));
    if (lot.occupied === 1) out.set(k, true);
    else if (lot.free === 1) out.set(k, false);
  }
  return out;
}

/**
 * Splits a server-sent event stream into events (text up to a blank line). A kpis event of a large
 * city is megabytes in many chunks: the chunks of the current event are kept and only the new one
 * is searched for the event's end (searching a growing buffer would be quadratic).
 */
export class SseSplitter {
  #parts: string[] = [];
  constructor(private readonly onEvent: (event: string) => void) {}

  push(chunk: string): void {
    let text = chunk;
    for (;;) {
      const parts = this.#parts;
      // The blank line may straddle two chunks.
      if (parts.length > 0 && parts[parts.length - 1]!.endsWith('\n') && text.startsWith('\n')) {
        this.#parts = [];
        text = text.slice(1);
        this.onEvent(parts.join('').slice(0, -1));
        continue;
      }
      const end = text.indexOf('\n\n');
      if (end < 0) {
        if (text) parts.push(text);
        return;
      }
      this.#parts = [];
      const event = parts.join('') + text.slice(0, end);
      text = text.slice(end + 2);
      this.onEvent(event);
    }
  }
}

/** One KPI event of the live stream as the benchmark saw it. */
export interface StreamedKpis {
  /** Probe lots' states in the document after this event. */
  states: Map<number, boolean>;
  at: number;
  /** Bytes of the event on the wire. */
  bytes: number;
  /** A whole document (`kpis`) rather than a patch (`kpis-patch`). */
  whole: boolean;
}

/**
 * Follows the API's live stream as a client of every section does (the console): the whole KPI
 * document, then JSON Patch events applied to it, reporting the probe lots after each. The stream
 * is read raw (server-sent events: `event:` and `data:` lines, blank line). Returns a stop function.
 */
export async function watchKpiStream(apiUrl: string, onKpis: (event: StreamedKpis) => void): Promise<() => void> {
  const controller = new AbortController();
  const open = async (): Promise<ReadableStreamDefaultReader<Uint8Array>> => {
    const response = await fetch(`${apiUrl}/api/v1/stream`, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
    if (!response.ok || !response.body) throw new Error(`GET ${apiUrl}/api/v1/stream: HTTP ${response.status}`);
    return response.body.getReader();
  };
  let reader = await open();
  void (async () => {
    const decoder = new TextDecoder();
    // The server cuts off a client that falls too far behind: read again from a new stream.
    while (!controller.signal.aborted) {
      let doc: Record<string, unknown> | undefined;
      const events = new SseSplitter((event) => {
        const whole = event.startsWith('event: kpis\n');
        if (!whole && !event.startsWith('event: kpis-patch\n')) return;
        const data = JSON.parse(event.slice(event.indexOf('\ndata: ') + 7)) as { kpis?: Record<string, unknown>; patch?: PatchOp[] };
        if (whole) doc = data.kpis;
        else if (doc) applyPatch(doc, data.patch!);
        else return;
        onKpis({ states: probeStatesInKpis(doc!), at: Date.now(), bytes: event.length + 2, whole });
      });
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          events.push(decoder.decode(value, { stream: true }));
        }
      } catch {
        /* aborted, or the server went away */
      }
      if (controller.signal.aborted) return;
      await sleep(200);
      reader = await open().catch(() => reader);
    }
  })();
  return () => controller.abort();
}

/** The plain subscriber of the Mosquitto baseline: counts messages and reports probe states as they arrive. */
export async function subscribeAll(
  url: string,
  onProbe: (k: number, occupied: boolean, at: number) => void,
): Promise<{ messages(): number; stop(): Promise<void> }> {
  const client = await connectAsync(url, { clientId: `bench-sub-${process.pid}`.slice(0, 23), clean: true });
  let messages = 0;
  const prefix = `city/${PROBE_DISTRICT}/parking/PK-BENCH-P`;
  client.on('message', (topic, payload) => {
    if (!topic.startsWith(prefix)) {
      messages++;
      return;
    }
    const k = Number(topic.slice(prefix.length, topic.indexOf('/', prefix.length)));
    onProbe(k, payload.includes('"occupied"'), Date.now());
  });
  await client.subscribeAsync('city/#', { qos: 1 });
  return { messages: () => messages, stop: () => client.endAsync().then(() => undefined) };
}

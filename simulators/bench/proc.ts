import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux everywhere that matters). */
const HZ = 100;
const PAGE = 4096;

export interface ProcSample {
  rssBytes: number;
  cpuSeconds: number;
}

/** Resident memory and CPU time (user + system) of one process from /proc; null once it is gone. */
export function procSample(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    const rssPages = Number(f[21]);
    return { rssBytes: rssPages * PAGE, cpuSeconds: (utime + stime) / HZ };
  } catch {
    return null;
  }
}

/** Every process in the tree under `pid` (itself included): stages behind a watchdog shell, a JVM under its wrapper. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (children) out.push(...children.split(/\s+/).map(Number));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Samples named groups of processes every `everyMs`: the highest summed RSS seen per group, and CPU
 * seconds between marks. CPU of a process that exits between samples is kept at its last value.
 */
export class ProcSampler {
  readonly #groups: Map<string, number[]>;
  readonly #lastCpu = new Map<number, number>();
  readonly #rssMax = new Map<string, number>();
  readonly #seen = new Map<string, Set<number>>();
  readonly #timer: NodeJS.Timeout;

  constructor(groups: Record<string, number[]>, everyMs = 250) {
    this.#groups = new Map(Object.entries(groups));
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.#timer.unref();
  }

  sample(): void {
    for (const [name, roots] of this.#groups) {
      let rss = 0;
      let seen = this.#seen.get(name);
      if (!seen) this.#seen.set(name, (seen = new Set()));
      for (const root of roots) {
        for (const pid of processTree(root)) {
          const s = procSample(pid);
          if (!s) continue;
          rss += s.rssBytes;
          this.#lastCpu.set(pid, s.cpuSeconds);
          seen.add(pid);
        }
      }
      this.#rssMax.set(name, Math.max(this.#rssMax.get(name) ?? 0, rss));
    }
  }

  /** CPU seconds used so far by a group (every process ever seen in it). */
  cpuSeconds(name: string): number {
    this.sample();
    let total = 0;
    for (const pid of this.#seen.get(name) ?? []) total += this.#lastCpu.get(pid) ?? 0;
    return total;
  }

  rssMaxBytes(name: string): number {
    return this.#rssMax.get(name) ?? 0;
  }

  /** Starts the RSS maximum of a group again (e.g. after start-up). */
  resetRss(name: string): void {
    this.#rssMax.set(name, 0);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Sum of a Prometheus counter over all its label sets, from the text format. */
export function counterSum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SimulationStats } from '../engine.js';
import type { DriverRequest } from './driver.js';

/** The compiled driver: beside this file in dist/, or dist/ of the checkout when this runs from source (vitest). */
const BESIDE = fileURLToPath(new URL('./driver.js', import.meta.url));
const DRIVER = existsSync(BESIDE) ? BESIDE : fileURLToPath(new URL('../../dist/simulators/bench/driver.js', import.meta.url));

export interface LoadOptions {
  url: string;
  nodes: number;
  seed: number;
  speed: number;
  start: number;
  rate: number;
  connections: number;
  maxInflight: number;
}

/** The simulator in its own process (./driver.ts), controlled over IPC. */
export class Load {
  readonly child: ChildProcess;
  #nextId = 1;
  #waiting = new Map<number, (r: { stats: SimulationStats; now: number }) => void>();
  #onceTypes = new Map<string, (m: { stats?: SimulationStats; message?: string }) => void>();
  #error: string | undefined;

  private constructor(child: ChildProcess) {
    this.child = child;
    // A send racing the child's exit reports EPIPE here; stats() then times out or the caller has stopped.
    child.on('error', () => undefined);
    child.on('message', (m: { type: string; id?: number; stats?: SimulationStats; now?: number; message?: string }) => {
      if (m.type === 'stats' && m.id !== undefined) {
        this.#waiting.get(m.id)?.({ stats: m.stats!, now: m.now! });
        this.#waiting.delete(m.id);
        return;
      }
      if (m.type === 'error') this.#error = m.message;
      const waiter = this.#onceTypes.get(m.type) ?? (m.type === 'error' ? this.#onceTypes.get('started') : undefined);
      waiter?.(m);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(options: LoadOptions): Promise<Load> {
    const child = fork(DRIVER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    const load = new Load(child);
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
    const started = await new Promise<{ stats?: SimulationStats; message?: string }>((resolve, reject) => {
      load.#onceTypes.set('started', resolve);
      child.once('exit', (code) =>
        reject(new Error(`load generator exited (${code}) before it started${load.#error ? `: ${load.#error}` : ''}`)),
      );
      load.send({ type: 'start', ...options });
    });
    if (!started.stats) {
      child.kill();
      throw new Error(`load generator: ${started.message ?? 'did not start'}`);
    }
    return load;
  }

  send(message: DriverRequest): boolean {
    if (!this.child.connected) return false;
    this.child.send(message);
    return true;
  }

  setRate(rate: number): void {
    this.send({ type: 'rate', rate });
  }

  stats(): Promise<{ stats: SimulationStats; now: number }> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('load generator did not answer within 30 s')), 30_000);
      this.#waiting.set(id, (r) => (clearTimeout(timer), resolve(r)));
      if (!this.send({ type: 'stats', id })) {
        clearTimeout(timer);
        this.#waiting.delete(id);
        reject(new Error('load generator has stopped'));
      }
    });
  }

  async stop(): Promise<SimulationStats | undefined> {
    if (this.child.exitCode !== null || !this.child.connected) return undefined;
    const stopped = new Promise<{ stats?: SimulationStats }>((resolve) => {
      this.#onceTypes.set('stopped', resolve);
      this.child.once('exit', () => resolve({}));
    });
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const result = await stopped;
    clearTimeout(timer);
    return result.stats;
  }
}

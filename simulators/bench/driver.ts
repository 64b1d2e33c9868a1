/**
 * The benchmark's load generator, as a child process of its own (forked by ./load.ts), so the
 * simulator's CPU does not distort the bench process's timing of probes and the KPI stream.
 * Messages in: `start`, `rate`, `stats`, `stop`; out: `started`, `stats`, `stopped`, `error`.
 */
import { citySizeFor, generateCity } from '../../core/index.js';
import { startSimulation, type Simulation } from '../publisher.js';
import { defaultKinds } from '../../core/kinds/modules.js';

export type DriverRequest =
  | {
      type: 'start';
      url: string;
      nodes: number;
      seed: number;
      speed: number;
      start: number;
      rate: number;
      connections: number;
      maxInflight: number;
    }
  | { type: 'rate'; rate: number }
  | { type: 'stats'; id: number }
  | { type: 'stop' };

let sim: Simulation | undefined;
const send = (message: object) => process.send?.(message);

process.on('message', (m: DriverRequest) => {
  void (async () => {
    try {
      switch (m.type) {
        case 'start': {
          const registry = generateCity(defaultKinds(), citySizeFor(m.nodes));
          sim = await startSimulation({
            url: m.url,
            registry,
            scenario: 'normal',
            seed: m.seed,
            speed: m.speed,
            start: m.start,
            rate: m.rate,
            qos: 1,
            connections: m.connections,
            maxInflight: m.maxInflight,
            maxAheadS: 0,
            clientIdPrefix: 'bench',
            // A pipeline busy with a large city may answer CONNECT late.
            connectTimeoutMs: 60_000,
          });
          send({ type: 'started', stats: sim.stats() });
          break;
        }
        case 'rate':
          sim?.setRate(m.rate);
          break;
        case 'stats':
          send({ type: 'stats', id: m.id, stats: sim?.stats(), now: sim?.now() });
          break;
        case 'stop':
          await sim?.stop();
          send({ type: 'stopped', stats: sim?.stats() });
          process.disconnect?.();
          break;
      }
    } catch (error) {
      send({ type: 'error', message: (error as Error).message });
    }
  })();
});
process.on('disconnect', () => {
  void sim?.stop().finally(() => process.exit(0));
  if (!sim) process.exit(0);
});

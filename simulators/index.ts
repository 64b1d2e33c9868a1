export {
  startSimulation,
  nightStart,
  SIMULATION_DEFAULTS,
  type SimulationOptions,
  type Simulation,
  type SimulationStats,
  type SimLogger,
} from './publisher.js';
export { SimulationEngine, selectNodes, type EngineOptions, type PublishSink } from './engine.js';
export * from './scenarios.js';
export * from './models/index.js';
export { runSimulate, parseSimulateArgs, resolveStart, SimulateUsageError, SIMULATE_USAGE } from './cli.js';

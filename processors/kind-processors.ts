import type { Config, KindCatalog } from '../core/index.js';
import type { KindProcessor } from './types.js';

/** One fresh stateful processor per kind of the catalog (each kind module's), by kind name. */
export function processorsFor(config: Config, kinds: KindCatalog): Map<string, KindProcessor> {
  return new Map(kinds.modules().map((m) => [m.name, m.processor(config) as KindProcessor]));
}

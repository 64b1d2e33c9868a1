import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PIPELINE_ALERTS } from '../alerts.js';
import type { AnyKindModule } from './module.js';
import type { KindProfile } from './profile/schema.js';

/** `core/kinds/profiles/` of the package (the shipped profile kinds), from the sources or from dist/. */
export function shippedProfilesDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'core', 'kinds', 'profiles');
    if (existsSync(join(candidate, 'waterlogging.yaml'))) return candidate;
    if (dirname(dir) === dir) throw new Error('the shipped kind profiles (core/kinds/profiles/) are missing from the package');
  }
}

/**
 * The kinds one pipeline knows, as modules: the built-in ones and one per profile kind (shipped,
 * plus those in KIND_PROFILES). Built at start by `loadKinds` (./modules.ts) and carried by the
 * node registry, so every stage that has a registry has its kinds. Throws when two modules share
 * a name or a KPI section.
 */
export class KindCatalog {
  readonly #modules = new Map<string, AnyKindModule>();

  constructor(modules: readonly AnyKindModule[]) {
    const sections = new Set<string>();
    for (const m of modules) {
      if (this.#modules.has(m.name)) throw new Error(`two sensor kinds named ${m.name}`);
      if (sections.has(m.section) || m.section === 'nodes' || m.section === 'evaluatedAt')
        throw new Error(`kind ${m.name}: KPI section ${m.section} is taken`);
      this.#modules.set(m.name, m);
      sections.add(m.section);
    }
  }

  names(): string[] {
    return [...this.#modules.keys()];
  }

  has(name: string): boolean {
    return this.#modules.has(name);
  }

  get(name: string): AnyKindModule | undefined {
    return this.#modules.get(name);
  }

  modules(): AnyKindModule[] {
    return [...this.#modules.values()];
  }

  profiles(): KindProfile[] {
    return this.modules().flatMap((m) => (m.profile ? [m.profile] : []));
  }

  /** Every alert name the pipeline may raise with these kinds: its own and each kind's. */
  alertNames(): string[] {
    return [...PIPELINE_ALERTS, ...this.modules().flatMap((m) => m.alerts)];
  }
}

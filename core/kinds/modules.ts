/**
 * The one list of built-in sensor kinds. A built-in kind is its folder (`core/kinds/<kind>/`, whose
 * index exports a `KindModule`) plus one line here; everything else (the registry schema, the
 * processors and the aggregator's output, the `metrics.<kind>` topics, the sinks, the dashboards,
 * the simulator, the OpenAPI document) follows from the catalog built from it.
 *
 * Not exported by core's index: the modules bring the stages' code with them, and the stages
 * import core. Entry points build a catalog here and hand it down.
 */
import { loadProfiles } from './profile/load.js';
import { KindCatalog, shippedProfilesDir } from './catalog.js';
import type { Measurements } from '../../processors/sinks/influxdb/builder.js';
import type { AnyKindModule } from './module.js';
import { profileModule } from './profile/module.js';
import type { KindProfile } from './profile/schema.js';
import { groundwater } from './groundwater/index.js';
import { noise } from './noise/index.js';
import { parking } from './parking/index.js';
import { streetlight } from './streetlight/index.js';

export const BUILTIN_KINDS = [streetlight, groundwater, noise, parking] as const;

/** A catalog of `builtins` (default: the built-in kinds) and one module per profile. */
export function kindCatalog(profiles: readonly KindProfile[] = [], builtins: readonly AnyKindModule[] = BUILTIN_KINDS): KindCatalog {
  return new KindCatalog([...builtins, ...profiles.map(profileModule)]);
}

/**
 * The kinds of a pipeline: `builtins`, the shipped profiles and those in `profileDirs`
 * (KIND_PROFILES). Throws ProfileError for a bad profile (one whose name or alerts clash with a
 * built-in kind's among them).
 */
export function loadKinds(profileDirs: readonly string[] = [], builtins: readonly AnyKindModule[] = BUILTIN_KINDS): KindCatalog {
  const reserved = kindCatalog([], builtins);
  const profiles = loadProfiles([shippedProfilesDir(), ...profileDirs], {
    kinds: reserved.names(),
    alerts: reserved.alertNames(),
    names: builtins.flatMap((m) => [m.section, ...Object.keys(m.influx.measurements as Measurements)]),
  });
  return kindCatalog(profiles, builtins);
}

let defaults: KindCatalog | undefined;
/** The built-in kinds and the shipped profiles (loaded once): tools and tests without KIND_PROFILES. */
export function defaultKinds(): KindCatalog {
  return (defaults ??= loadKinds());
}

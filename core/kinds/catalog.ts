import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ALERT_NAMES } from '../alerts.js';
import { KINDS, type Kind } from './builtin.js';
import { profileAttrs, profileReading } from './profile/derive.js';
import { loadProfiles } from './profile/load.js';
import type { KindProfile } from './profile/schema.js';

/** What every stage needs to know about a kind, built-in or profile, at run time. */
export interface KindSpec {
  name: string;
  /** Its section in `/api/v1/kpis` (the kind's name, but `lighting` for `streetlight`). */
  section: string;
  reading: z.ZodType<Record<string, unknown> & { ts: number }>;
  attrs: z.ZodObject;
  expectedIntervalS: number;
  /** Set for a profile kind: the file's definition. */
  profile?: KindProfile;
}

/** `core/kinds/profiles/` of the package (the shipped profile kinds), from the sources or from dist/. */
export function shippedProfilesDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'core', 'kinds', 'profiles');
    if (existsSync(join(candidate, 'waterlogging.yaml'))) return candidate;
    if (dirname(dir) === dir) throw new Error('the shipped kind profiles (core/kinds/profiles/) are missing from the package');
  }
}

/**
 * The kinds one pipeline knows: the built-in ones and the profile kinds (shipped, plus those in
 * KIND_PROFILES). Carried by the node registry, so every stage that has a registry has its kinds.
 */
export class KindCatalog {
  readonly #specs = new Map<string, KindSpec>();

  constructor(profiles: readonly KindProfile[] = []) {
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const k = KINDS[kind];
      this.#specs.set(kind, {
        name: kind,
        section: k.section,
        reading: k.reading,
        attrs: k.attrs,
        expectedIntervalS: k.expectedIntervalS,
      });
    }
    for (const profile of profiles) {
      this.#specs.set(profile.kind, {
        name: profile.kind,
        section: profile.kind,
        reading: profileReading(profile) as unknown as KindSpec['reading'],
        attrs: profileAttrs(profile),
        expectedIntervalS: profile.expectedIntervalS,
        profile,
      });
    }
  }

  /** The built-in kinds and the shipped profiles, plus the profiles in `extraDirs` (KIND_PROFILES); throws ProfileError. */
  static load(extraDirs: readonly string[] = []): KindCatalog {
    return new KindCatalog(loadProfiles([shippedProfilesDir(), ...extraDirs], { kinds: Object.keys(KINDS), alerts: ALERT_NAMES }));
  }

  static #default: KindCatalog | undefined;
  /** The built-in kinds and the shipped profiles (loaded once). */
  static default(): KindCatalog {
    return (KindCatalog.#default ??= KindCatalog.load());
  }

  names(): string[] {
    return [...this.#specs.keys()];
  }

  has(name: string): boolean {
    return this.#specs.has(name);
  }

  get(name: string): KindSpec | undefined {
    return this.#specs.get(name);
  }

  profiles(): KindProfile[] {
    return [...this.#specs.values()].flatMap((s) => (s.profile ? [s.profile] : []));
  }
}

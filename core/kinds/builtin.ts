import type { z } from 'zod';
import type { BUILTIN_KINDS } from './modules.js';

/*
 * The built-in kinds' names and types, read from the one list of modules (./modules.ts) as types
 * only: at run time the stages see kinds through the catalog they are given.
 */
type Builtin = (typeof BUILTIN_KINDS)[number];
type ModuleOf<K extends Kind> = Extract<Builtin, { name: K }>;

export type Kind = Builtin['name'];
/** The KPI section of a kind, e.g. `lighting` for `streetlight`. */
export type SectionOf<K extends Kind> = ModuleOf<K>['section'];
export type ReadingOf<K extends Kind> = z.output<ModuleOf<K>['reading']>;
export type AttrsOf<K extends Kind> = z.output<ModuleOf<K>['attrs']>;

export * from './common.js';
export * from './streetlight/spec.js';
export * from './groundwater/spec.js';
export * from './noise/spec.js';
export * from './parking/spec.js';

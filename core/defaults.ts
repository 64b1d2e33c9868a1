/**
 * A component's options over its defaults (aedes' `defaultOptions` pattern: each component keeps
 * its defaults in one object beside it). An option left undefined takes its default.
 */
export function withDefaults<D extends object>(defaults: D, options: Partial<D>): D {
  const out = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof D)[]) if (options[key] !== undefined) out[key] = options[key];
  return out;
}

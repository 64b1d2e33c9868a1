import type { Kpis } from '../core/index.js';
import { diff, type PatchOp } from '../core/json-patch.js';

/** What a live-stream client asked for: every section (null) or some, by name. */
export type SectionChoice = ReadonlySet<string> | null;

/** The server-sent event a client gets for one evaluation, encoded once for every client that chose the same sections. */
export interface KpiUpdate {
  /** The whole document (the sections chosen): for a client that has no base yet, or lost it. */
  full(sections: SectionChoice): Buffer;
  /** The changes since the previous evaluation (the sections chosen). */
  patch(sections: SectionChoice): Buffer;
}

const sse = (type: string, data: unknown) => Buffer.from(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
const keyOf = (sections: SectionChoice) => (sections ? [...sections].sort().join(',') : '*');

function pick(kpis: Kpis, sections: SectionChoice): Record<string, unknown> {
  if (!sections) return kpis;
  const out: Record<string, unknown> = { evaluatedAt: kpis.evaluatedAt };
  for (const section of sections) if (section in kpis) out[section] = kpis[section];
  return out;
}

/**
 * The live stream's KPI events: each evaluation is compared once with the one before it, and a
 * client gets only what changed in the sections it chose (`kpis-patch`, JSON Patch operations)
 * after one whole document (`kpis`). The document keeps growing with the city; the changes grow
 * with the readings of one evaluation.
 */
export class KpiFeed {
  #base: Kpis | undefined;

  #latest: KpiUpdate | undefined;

  /** The latest evaluation, for a client that connects between evaluations (its `full` is what the next patch applies to). */
  get latest(): KpiUpdate | undefined {
    return this.#latest;
  }

  /** A new evaluation. `diffed` false (no client listening) keeps it as the base without comparing. */
  next(kpis: Kpis, diffed: boolean): KpiUpdate {
    const prev = this.#base;
    this.#base = kpis;
    const bySection = new Map<string, PatchOp[]>();
    if (diffed && prev) {
      for (const op of diff(prev, kpis)) {
        const section = op.path.slice(1).split('/', 1)[0]!.replaceAll('~1', '/').replaceAll('~0', '~');
        (bySection.get(section) ?? bySection.set(section, []).get(section)!).push(op);
      }
    }
    const full = cached((s) => sse('kpis', { type: 'kpis', kpis: pick(kpis, s) }));
    return (this.#latest = {
      full,
      // Without a base to compare with, a patch is the whole document.
      patch:
        !prev || !diffed
          ? full
          : cached((s) => {
              const ops = s
                ? [...bySection].filter(([section]) => section === 'evaluatedAt' || s.has(section)).flatMap(([, o]) => o)
                : [...bySection.values()].flat();
              return sse('kpis-patch', { type: 'kpis-patch', evaluatedAt: kpis.evaluatedAt, patch: ops });
            }),
    });
  }
}

/** Encodes once per choice of sections. */
function cached(encode: (sections: SectionChoice) => Buffer): (sections: SectionChoice) => Buffer {
  const bytes = new Map<string, Buffer>();
  return (sections) => {
    const key = keyOf(sections);
    let b = bytes.get(key);
    if (!b) bytes.set(key, (b = encode(sections)));
    return b;
  };
}

import type { Kpis } from '../core/index.js';
import { diff, type PatchOp } from '../core/json-patch.js';

/** What a live-stream client asked for: every section (null) or some, by name. */
export type SectionChoice = ReadonlySet<string> | null;

/** The server-sent event a client gets for one evaluation, encoded once for every client that chose the same sections. */
export interface KpiUpdate {
  /** Which evaluation this is (counted from 1). */
  seq: number;
  /** The whole document (the sections chosen): for a client that has no base yet, or lost it. */
  full(sections: SectionChoice): Buffer;
  /** The changes since the previous evaluation (the sections chosen); the whole document where there was none to compare with. */
  patch(sections: SectionChoice): Buffer;
}

/** Evaluations kept for clients that fell behind: they get the patches they missed rather than the whole document again. */
export const RECENT_UPDATES = 16;

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
  #seq = 0;
  /**
   * The patches of the latest RECENT_UPDATES evaluations, each applying to the one before: only
   * the patches (a few KB each), never the documents (megabytes each at 500,000 nodes).
   */
  readonly #recent: Pick<KpiUpdate, 'seq' | 'patch'>[] = [];

  /**
   * The updates after evaluation `seq` up to the latest, each a patch on the one before; undefined
   * when one of them is no longer kept or was not compared (then the whole latest document).
   */
  since(seq: number): Pick<KpiUpdate, 'seq' | 'patch'>[] | undefined {
    if (seq === this.#latest?.seq) return [];
    const first = this.#recent[0];
    if (!this.#latest || !first || seq < first.seq - 1 || seq > this.#latest.seq) return undefined;
    return this.#recent.slice(seq - first.seq + 1);
  }

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
    const compared = diffed && prev !== undefined;
    const seq = ++this.#seq;
    // Without a base to compare with, a patch is the whole document.
    const patch = compared ? patchOf(bySection, kpis.evaluatedAt) : full;
    this.#latest = { seq, full, patch };
    // A run of patches, each on the one before: an update that was not compared starts it afresh.
    if (!compared) this.#recent.length = 0;
    else {
      this.#recent.push({ seq, patch });
      if (this.#recent.length > RECENT_UPDATES) this.#recent.shift();
    }
    return this.#latest;
  }
}

/** A patch event per choice of sections; a function of its own so that it holds the operations, not the document. */
function patchOf(bySection: Map<string, PatchOp[]>, evaluatedAt: number): (sections: SectionChoice) => Buffer {
  return cached((s) => {
    const ops = s
      ? [...bySection].filter(([section]) => section === 'evaluatedAt' || s.has(section)).flatMap(([, o]) => o)
      : [...bySection.values()].flat();
    return sse('kpis-patch', { type: 'kpis-patch', evaluatedAt, patch: ops });
  });
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

/** What stands in for a value nested deeper than the limit. */
export const DEPTH_CUT = '<cut: nested too deep>';

/**
 * JSON text of a parsed value for a dead letter, bounded in nesting depth and size, never a throw:
 * `JSON.stringify` recurses and throws RangeError on a value nested some thousands of levels deep
 * (JSON.parse does not), and it would copy the whole value however large. Levels deeper than
 * `maxDepth` become the string {@link DEPTH_CUT}; the walk stops once more than `maxBytes` are
 * written, so the result is at most a little over `maxBytes` (longer than `maxBytes` means cut).
 * Only what JSON.parse produces is expected (no cycles, getters or toJSON).
 */
export function boundedJson(value: unknown, maxDepth: number, maxBytes: number): { text: string; depthCut: boolean; sizeCut: boolean } {
  const out: string[] = [];
  let length = 0;
  let depthCut = false;
  const full = () => length > maxBytes;
  const put = (s: string) => {
    out.push(s);
    length += s.length;
  };
  const walk = (v: unknown, depth: number): void => {
    if (full()) return;
    if (v === null || typeof v === 'boolean') return put(String(v));
    if (typeof v === 'number') return put(Number.isFinite(v) ? String(v) : 'null');
    // A long string is cut before it is quoted: only the start can be kept anyway.
    if (typeof v === 'string') return put(JSON.stringify(v.length > maxBytes ? v.slice(0, maxBytes + 1) : v));
    if (typeof v !== 'object') return put('null');
    if (depth >= maxDepth) {
      depthCut = true;
      return put(JSON.stringify(DEPTH_CUT));
    }
    if (Array.isArray(v)) {
      put('[');
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) put(',');
        walk(v[i], depth + 1);
      }
      return put(']');
    }
    put('{');
    let first = true;
    for (const key in v) {
      if (full()) break;
      if (!Object.hasOwn(v, key)) continue;
      put(`${first ? '' : ','}${JSON.stringify(key.length > maxBytes ? key.slice(0, maxBytes + 1) : key)}:`);
      first = false;
      walk((v as Record<string, unknown>)[key], depth + 1);
    }
    put('}');
  };
  try {
    walk(value, 0);
  } catch {
    // Not expected for parsed JSON; a dead letter must never fail because of its copy.
    put('"<not serialisable>"');
  }
  return { text: out.join(''), depthCut, sizeCut: full() };
}

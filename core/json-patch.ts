/**
 * Changes between two JSON documents as JSON Patch operations (RFC 6902: add, remove, replace): the
 * live stream sends what changed in the KPI document instead of all of it every evaluation (about
 * 1.5 MB at 500,000 nodes, of which a second's readings change a small part), and a processor sends
 * what changed in its partition's partial (./processors/partial-delta.ts). Any JSON Patch library
 * applies them; `applyPatch` here is the reference the tests and the benchmark use.
 *
 * Documents are compared as JSON would write them: a member whose value is undefined is absent.
 * The lists in the KPI sections are sorted by id, so an array of the same length is compared index
 * by index; an array whose length changed (a lot added or retired) is replaced whole.
 */
export type PatchOp = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A member as JSON has it: own, else absent (a key such as "constructor" is data, not the prototype's). */
const member = (o: Record<string, unknown>, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

/** RFC 6901: `~` and `/` in a key are escaped. */
export const pointer = (key: string | number): string => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
const unpointer = (token: string): string => token.replaceAll('~1', '/').replaceAll('~0', '~');

/**
 * Operations that turn `prev` into `next`. An object or array whose changed members would take
 * more bytes as operations than the whole of it (a parking lot's row after a car came: occupied,
 * free, occupancy, sessions, dwell) is replaced whole. One with a change deeper down (a section
 * whose list changed) is never replaced whole.
 */
export function diff(prev: unknown, next: unknown, path = '', ops: PatchOp[] = []): PatchOp[] {
  if (prev === next) return ops;
  if (isObject(prev) && isObject(next)) {
    const inner = new Members(path);
    for (const key of Object.keys(next)) {
      const value = next[key];
      if (value === undefined) continue;
      const was = member(prev, key);
      if (was === undefined) inner.push({ op: 'add', path: path + pointer(key), value });
      // Most members are unchanged: compared before any path is built (the paths cost more than the comparison).
      else if (!same(was, value)) inner.child(pointer(key), (at) => diff(was, value, at, inner.ops));
    }
    for (const key of Object.keys(prev))
      if (prev[key] !== undefined && member(next, key) === undefined) inner.push({ op: 'remove', path: path + pointer(key) });
    return inner.flush(next, ops);
  }
  if (Array.isArray(prev) && Array.isArray(next) && prev.length === next.length) {
    const inner = new Members(path);
    for (let i = 0; i < next.length; i++)
      if (!same(prev[i], next[i])) inner.child(pointer(i), (at) => diff(prev[i], next[i], at, inner.ops));
    return inner.flush(next, ops);
  }
  // A number, string, boolean or null that changed, or a change of type or of array length.
  ops.push({ op: 'replace', path, value: next });
  return ops;
}

/** Whether two JSON values are equal (deep); allocates nothing. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // Members counted as JSON has them: an undefined one is absent.
  let n = 0;
  for (const key in x) {
    if (x[key] === undefined) continue;
    if (!same(x[key], member(y, key))) return false;
    n++;
  }
  for (const key in y) if (y[key] !== undefined) n--;
  return n === 0;
}

/** The operations on one object's or array's members, and whether any reaches deeper than a member. */
class Members {
  readonly ops: PatchOp[] = [];
  #deep = false;
  constructor(private readonly path: string) {}

  push(op: PatchOp): void {
    this.ops.push(op);
  }

  child(token: string, diffChild: (at: string) => void): void {
    const from = this.ops.length;
    const at = this.path + token;
    diffChild(at);
    for (let i = from; i < this.ops.length && !this.#deep; i++) this.#deep = this.ops[i]!.path !== at;
  }

  flush(next: unknown, ops: PatchOp[]): PatchOp[] {
    // The document root is never replaced: a client keeps the sections it asked for.
    if (this.path !== '' && !this.#deep && this.ops.length > 1 && this.#wholeIsShorter(next)) {
      ops.push({ op: 'replace', path: this.path, value: next });
    } else for (const op of this.ops) ops.push(op);
    return ops;
  }

  /** Whether one operation replacing `next` whole is shorter, as JSON, than the operations on its members. */
  #wholeIsShorter(next: unknown): boolean {
    const whole = JSON.stringify({ op: 'replace', path: this.path, value: next }).length;
    let asMembers = 0;
    for (const op of this.ops) if ((asMembers += JSON.stringify(op).length) > whole) return true;
    return false;
  }
}

/**
 * Applies operations as `diff` makes them (members of objects added and removed, anything replaced)
 * to `doc` in place and returns it; a path that does not resolve is an error (resynchronise).
 */
export function applyPatch<T>(doc: T, ops: readonly PatchOp[]): T {
  for (const op of ops) {
    const tokens = op.path.split('/').slice(1).map(unpointer);
    const last = tokens.pop();
    if (last === undefined) throw new Error('a patch may not replace the whole document');
    let parent: unknown = doc;
    for (const token of tokens) {
      parent = (parent as Record<string, unknown> | undefined)?.[token];
      if (typeof parent !== 'object' || parent === null) throw new Error(`patch path ${op.path} does not resolve`);
    }
    const target = parent as Record<string, Json>;
    if (op.op === 'remove') delete target[last];
    else if (op.op === 'replace' && !(last in target)) throw new Error(`patch path ${op.path} does not resolve`);
    else target[last] = op.value as Json;
  }
  return doc;
}

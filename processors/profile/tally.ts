import type { ProfileAggregate } from '../../core/index.js';
import { addTo, roundSum } from './fsum.js';

/**
 * One aggregate's part of a district's tally, in a form that merges exactly across partitions:
 * `mean` the exact sum (an fsum expansion) and the count of values, `min`/`max` the extreme or
 * null, `count` the nodes meeting the condition, `timeOver` the longest current run (seconds).
 */
export type AggregatePart = { sum: number[]; n: number } | number | null;

/** The part of an aggregate before any node is counted. */
export function emptyPart(a: ProfileAggregate): AggregatePart {
  switch (a.op) {
    case 'mean':
      return { sum: [], n: 0 };
    case 'min':
    case 'max':
      return null;
    case 'count':
    case 'timeOver':
      return 0;
  }
}

/** Counts one node's value in (mean/min/max: the field's value; count: 1; timeOver: its run in seconds). Returns the new part. */
export function addValue(a: ProfileAggregate, part: AggregatePart, x: number): AggregatePart {
  switch (a.op) {
    case 'mean': {
      const p = part as { sum: number[]; n: number };
      addTo(p.sum, x);
      p.n++;
      return p;
    }
    case 'min':
      return part === null ? x : Math.min(part as number, x);
    case 'max':
    case 'timeOver':
      return part === null ? x : Math.max(part as number, x);
    case 'count':
      return (part as number) + x;
  }
}

/** Merges `other` (left untouched: it belongs to a partial) into `into` (the caller's own). Returns the new part. */
export function mergePart(a: ProfileAggregate, into: AggregatePart, other: AggregatePart): AggregatePart {
  if (a.op === 'mean') {
    const p = into as { sum: number[]; n: number };
    const o = other as { sum: number[]; n: number };
    for (const x of o.sum) addTo(p.sum, x);
    p.n += o.n;
    return p;
  }
  return other === null ? into : addValue(a, into, other as number);
}

/** The KPI value of a part: a mean's exact sum rounded once and divided, null when no node had a value. */
export function finish(a: ProfileAggregate, part: AggregatePart): number | null {
  if (a.op === 'mean') {
    const p = part as { sum: number[]; n: number };
    return p.n === 0 ? null : roundSum(p.sum) / p.n;
  }
  return part as number | null;
}

import { describe, expect, it } from 'vitest';
import { ChangeLog, IncrementalList } from './incremental.js';

/**
 * A list whose judgement of a node is its state (a number set by the test) until `until`; the
 * tally is the sum of the judgements; `judged` records which nodes each update judged.
 */
function list(ids: string[], log: ChangeLog, state: Map<string, number>, judged: string[]) {
  let sum = 0;
  const l = new IncrementalList<number>(ids, log, {
    judge: (i) => {
      judged.push(ids[i]!);
      return { value: state.get(ids[i]!) ?? 0, until: Infinity };
    },
    add: (_, v) => (sum += v),
    remove: (_, v) => (sum -= v),
    reset: () => (sum = 0),
  });
  return { l, sum: () => sum };
}

describe('IncrementalList over a shared ChangeLog', () => {
  it('judges again only its own nodes that changed, among the changes of every list', () => {
    const log = new ChangeLog();
    const state = new Map<string, number>();
    const judgedA: string[] = [];
    const judgedB: string[] = [];
    // Two partitions' lists of one processor, and a node no list holds yet.
    const a = list(['n1', 'n2', 'n3'], log, state, judgedA);
    const b = list(['n4', 'n5'], log, state, judgedB);
    a.l.update({ now: 0 });
    b.l.update({ now: 0 });
    expect([judgedA, judgedB]).toEqual([
      ['n1', 'n2', 'n3'],
      ['n4', 'n5'],
    ]);
    judgedA.length = judgedB.length = 0;
    for (const [id, v] of [
      ['n2', 5],
      ['n5', 7],
      ['n9', 100], // in neither list (a node seen after they were made): its slot is past both lists' bits
      ['n2', 6],
    ] as const) {
      state.set(id, v);
      log.note(id);
    }
    a.l.update({ now: 1 });
    b.l.update({ now: 1 });
    expect(judgedA).toEqual(['n2', 'n2']);
    expect(judgedB).toEqual(['n5']);
    expect([a.sum(), b.sum()]).toEqual([6, 7]);
  });

  it('two lists holding the same node (the whole kind and one partition) both see its change', () => {
    const log = new ChangeLog();
    const state = new Map<string, number>();
    const whole = list(['n1', 'n2', 'n3', 'n4'], log, state, []);
    const part = list(['n3', 'n4'], log, state, []);
    whole.l.update({ now: 0 });
    part.l.update({ now: 0 });
    state.set('n4', 3);
    state.set('n1', 2);
    log.note('n4');
    log.note('n1');
    whole.l.update({ now: 1 });
    part.l.update({ now: 1 });
    expect([whole.sum(), part.sum()]).toEqual([5, 3]);
  });
});

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

describe('change log', () => {
  it('notes nothing until a list reads it (the API replica never does), then every change after', () => {
    const log = new ChangeLog();
    log.note('a');
    log.note('b');
    const from = log.end;
    expect(from).toBe(0);
    log.note('c');
    expect(log.since(from)).toEqual([log.slot('c')]);
  });

  it('a list judges a change made before it first read the log: its first update judges every node', () => {
    const log = new ChangeLog();
    const state = new Map([
      ['a', 1],
      ['b', 2],
    ]);
    const tally = new Map<number, number>();
    const list = new IncrementalList(['a', 'b'], log, {
      judge: (i) => ({ value: state.get(i === 0 ? 'a' : 'b')!, until: Infinity }),
      add: (_i, v) => tally.set(v, (tally.get(v) ?? 0) + 1),
      remove: (_i, v) => tally.set(v, tally.get(v)! - 1),
      reset: () => tally.clear(),
    });
    state.set('a', 2);
    log.note('a'); // not kept: nobody has read the log yet
    list.update({ now: 1 });
    expect(Object.fromEntries(tally)).toEqual({ 2: 2 });
    state.set('b', 3);
    log.note('b');
    list.update({ now: 2 });
    expect(Object.fromEntries(tally)).toEqual({ 2: 1, 3: 1 });
  });
});

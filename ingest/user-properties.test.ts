import { describe, expect, it } from 'vitest';
import { userPropertyHeaders } from './user-properties.js';

describe('userPropertyHeaders', () => {
  it('keeps properties in the order sent until the count or the bytes would be exceeded, and counts the rest', () => {
    // 'site' + 'north' = 9 bytes, 'fw' + '1.2.3' = 7, 'batch' + '42' = 7: 23 in all.
    const props = { site: 'north', fw: '1.2.3', batch: '42' };
    expect(userPropertyHeaders(props, { maxCount: 16, maxBytes: 1024 })).toEqual({
      headers: props,
      cut: { count: 0, bytes: 0 },
    });
    expect(userPropertyHeaders(props, { maxCount: 2, maxBytes: 1024 })).toEqual({
      headers: { site: 'north', fw: '1.2.3' },
      cut: { count: 1, bytes: 0 },
    });
    // 16 bytes: site (9) + fw (7) fit exactly, batch (7 more) does not.
    expect(userPropertyHeaders(props, { maxCount: 16, maxBytes: 16 })).toEqual({
      headers: { site: 'north', fw: '1.2.3' },
      cut: { count: 0, bytes: 1 },
    });
    // Bytes are UTF-8: 'ü' is 2.
    expect(userPropertyHeaders({ ü: 'ü' }, { maxCount: 16, maxBytes: 3 })).toEqual({ cut: { count: 0, bytes: 1 } });
  });

  it('a name sent more than once keeps its last value; none at all gives no headers', () => {
    expect(userPropertyHeaders({ tag: ['a', 'b', 'c'] }, { maxCount: 16, maxBytes: 1024 })).toEqual({
      headers: { tag: 'c' },
      cut: { count: 0, bytes: 0 },
    });
    expect(userPropertyHeaders(undefined, { maxCount: 16, maxBytes: 1024 })).toEqual({ cut: { count: 0, bytes: 0 } });
    expect(userPropertyHeaders({ a: 'b' }, { maxCount: 0, maxBytes: 1024 })).toEqual({ cut: { count: 1, bytes: 0 } });
  });
});

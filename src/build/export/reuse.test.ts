import { sharedPrefixLength } from './reuse';
import type { Digest } from '../../image/types';

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;

describe('sharedPrefixLength', () => {
  it('counts the leading layers both images have in the same order', () => {
    expect(sharedPrefixLength([d('a'), d('b'), d('c')], [d('a'), d('b'), d('c')])).toBe(3);
    expect(sharedPrefixLength([d('a'), d('b'), d('x')], [d('a'), d('b'), d('c')])).toBe(2);
    expect(sharedPrefixLength([d('a'), d('b')], [d('a'), d('b'), d('c')])).toBe(2);
  });

  it('stops at the first difference, even when a later layer matches (its chain differs)', () => {
    expect(sharedPrefixLength([d('x'), d('b')], [d('a'), d('b')])).toBe(0);
    expect(sharedPrefixLength([d('a')], [])).toBe(0);
  });
});

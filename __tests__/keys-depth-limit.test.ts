import fc from 'fast-check';
import { canonicalArgs, KEY_METHOD, MAX_KEY_DEPTH } from '../lib/canonical-args';

// Arguments nested up to MAX_KEY_DEPTH (1000) levels are keyed; deeper is a TypeError that names the
// limit and points to keyArgs, never a raw RangeError.

type Wrap = (inner: unknown) => unknown;

class Node {
  constructor(readonly next: unknown) {}
}
class KeyedNode {
  constructor(readonly next: unknown) {}
  [KEY_METHOD]() {
    return this.next;
  }
}

const WRAPS: Array<[string, Wrap]> = [
  ['arrays', (x) => [x]],
  ['objects', (x) => ({ next: x })],
  ['Maps', (x) => new Map([['k', x]])],
  ['Sets', (x) => new Set([x])],
  ['instances with a key method', (x) => new KeyedNode(x)],
  ['instances keyed by visible state', (x) => new Node(x)],
];

function nested(wrap: Wrap, depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
}

function outcome(args: unknown[]): string {
  try {
    canonicalArgs(args);
    return 'keyed';
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
}

const REFUSAL =
  /^cache-memoize: argument 0.* is nested more than 1000 levels deep\. Use the keyArgs option to key on something else\.$/;

describe('keys: nesting up to the limit is keyed, deeper is a TypeError naming it', () => {
  test.each(WRAPS)('%s', (_label, wrap) => {
    expect(outcome([nested(wrap, MAX_KEY_DEPTH)])).toBe('keyed');
    expect(outcome([nested(wrap, MAX_KEY_DEPTH + 1)])).toMatch(REFUSAL);
  });

  test('the issue case: 2,000 levels no longer reject with a raw RangeError', () => {
    expect(outcome([nested((x) => [x], 2000)])).toMatch(REFUSAL);
  });

  test('property: around the limit, mixing containers, the outcome depends on the depth alone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_KEY_DEPTH - 3, max: MAX_KEY_DEPTH + 3 }),
        fc.array(fc.constantFrom(...WRAPS.map(([, wrap]) => wrap)), { minLength: 1, maxLength: 6 }),
        (depth, wraps) => {
          let value: unknown = 0;
          for (let i = 0; i < depth; i++) value = (wraps[i % wraps.length] as Wrap)(value);
          const result = outcome([value]);
          if (depth <= MAX_KEY_DEPTH) expect(result).toBe('keyed');
          else expect(result).toMatch(REFUSAL);
        },
      ),
      { numRuns: 20 },
    );
  });

  test('from a caller deep in its own stack, running out of stack is a TypeError, not a RangeError', () => {
    const value = nested((x) => ({ next: x }), MAX_KEY_DEPTH);
    const seen = new Set<string>();
    function descend(level: number): void {
      try {
        descend(level + 1);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
      }
      // Shallower levels have more stack still: once one keys, they all do.
      if (level % 200 !== 0 || seen.has('keyed')) return;
      try {
        canonicalArgs([value]);
        seen.add('keyed');
      } catch (error) {
        // Too little stack left even to build the error: the frames above still catch it.
        if (error instanceof RangeError) return;
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toMatch(/is nested too deeply \(the stack ran out before 1000 levels\)/);
        seen.add('TypeError');
      }
    }
    descend(0);
    expect([...seen].sort()).toEqual(['TypeError', 'keyed']);
  });
});

import fc from 'fast-check';
import { SerializationError } from '../lib/errors';
import { decode, encode, MAX_VALUE_DEPTH } from '../lib/serializer';

// A result nested up to MAX_VALUE_DEPTH (1000) levels round-trips; deeper is E_UNSERIALIZABLE naming
// the limit (returned, not stored), never a RangeError out of the encoder.

type Wrap = (inner: unknown) => unknown;

const WRAPS: Array<[string, Wrap]> = [
  ['arrays', (x) => [x]],
  ['objects', (x) => ({ next: x })],
  ['Maps', (x) => new Map([['k', x]])],
  ['Sets', (x) => new Set([x])],
  ['null-prototype objects', (x) => Object.assign(Object.create(null), { x })],
];

/** `depth` levels of `wrap` around a leaf that needs a tag. */
function nested(wrap: Wrap, depth: number): unknown {
  let value: unknown;
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
}

function outcome(value: unknown): 'ok' | string {
  try {
    const text = encode(value);
    const decoded = decode(text);
    if (!decoded.ok) throw decoded.error;
    // Re-encoding compares the whole structure (jest's own deep equality would run out of stack).
    expect(encode(decoded.value)).toBe(text);
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
    return `${(error as SerializationError).code}: ${(error as Error).message}`;
  }
}

describe('values: nesting up to the limit round-trips, deeper is E_UNSERIALIZABLE naming it', () => {
  test.each(WRAPS)('%s', (_label, wrap) => {
    expect(outcome(nested(wrap, MAX_VALUE_DEPTH))).toBe('ok');
    expect(outcome(nested(wrap, MAX_VALUE_DEPTH + 1))).toMatch(
      /^E_UNSERIALIZABLE: cache-memoize: cannot cache: result.* is nested more than 1000 levels deep$/,
    );
  });

  test('plain JSON too (the fast path hands deep values to the encoder that explains)', () => {
    let value: unknown = 1;
    for (let i = 0; i < MAX_VALUE_DEPTH; i++) value = [value];
    expect(encode(value).startsWith('cm1J')).toBe(true);
    expect(outcome([value])).toMatch(/^E_UNSERIALIZABLE: .* is nested more than 1000 levels deep$/);
  });

  test('property: around the limit, mixing containers, the outcome depends on the depth alone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_VALUE_DEPTH - 3, max: MAX_VALUE_DEPTH + 3 }),
        fc.array(fc.constantFrom(...WRAPS.map(([, wrap]) => wrap)), { minLength: 1, maxLength: 5 }),
        (depth, wraps) => {
          let value: unknown = Number.NaN;
          for (let i = 0; i < depth; i++) value = (wraps[i % wraps.length] as Wrap)(value);
          const result = outcome(value);
          if (depth <= MAX_VALUE_DEPTH) expect(result).toBe('ok');
          else expect(result).toMatch(/^E_UNSERIALIZABLE: .* is nested more than 1000 levels deep$/);
        },
      ),
      { numRuns: 25 },
    );
  });

  test('from a caller deep in its own stack, running out of stack is E_UNSERIALIZABLE, not a RangeError', () => {
    const value = nested(WRAPS[1]?.[1] as Wrap, MAX_VALUE_DEPTH);
    const seen = new Set<string>();
    // Call encode at many depths of this recursion, the deepest with almost no stack left.
    function descend(level: number): void {
      try {
        descend(level + 1);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
      }
      // Shallower levels have more stack still: once one encodes, they all do.
      if (level % 200 !== 0 || seen.has('encoded')) return;
      try {
        encode(value);
        seen.add('encoded');
      } catch (error) {
        if (error instanceof RangeError) {
          // Too little stack left even to build the error: the frames above still catch it.
          seen.add('stack too short to report');
          return;
        }
        expect(error).toBeInstanceOf(SerializationError);
        expect((error as SerializationError).code).toBe('E_UNSERIALIZABLE');
        seen.add('E_UNSERIALIZABLE');
      }
    }
    descend(0);
    expect(seen.has('encoded')).toBe(true);
    expect(seen.has('E_UNSERIALIZABLE')).toBe(true);
  });
});

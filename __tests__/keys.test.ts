import { fork } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { canonicalArgs, digestArgs, entryKey, entryKeys } from '../lib/canonical-args';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
class Other {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

// Each row: argument lists that must all get different keys.
const DISTINCT: Array<[string, unknown[][]]> = [
  ['number vs string', [[1], ['1']]],
  ['null vs undefined vs "null" vs no argument', [[null], [undefined], ['null'], []]],
  ['array vs its string vs spread', [[[1, 2]], ['[1,2]'], [1, 2], ['1,2']]],
  ['Date vs its ISO string vs its epoch', [[new Date(0)], ['1970-01-01T00:00:00.000Z'], [0]]],
  ['Map vs object vs Set vs array', [[new Map()], [{}], [new Set()], [[]]]],
  ['bigint vs number vs string', [[1n], [1], ['1']]],
  ['-0 vs 0', [[-0], [0]]],
  ['NaN vs "NaN" vs null', [[Number.NaN], ['NaN'], [null]]],
  ['true vs "true" vs 1', [[true], ['true'], [1]]],
  ['key/value split', [[{ a: 'b', c: 'd' }], [{ a: 'bc', '': 'd' }], [{ ab: 'c' }]]],
  ['string boundaries', [['ab', 'c'], ['a', 'bc'], ['abc']]],
  ['nesting', [[[[1]]], [[1]], [1]]],
  ['Map entries vs array of pairs', [[new Map([[1, 2]])], [[[1, 2]]], [new Set([1, 2])]]],
  ['missing property vs undefined property', [[{}], [{ a: undefined }]]],
  ['Buffer vs Uint8Array vs string', [[Buffer.from('ab')], [new Uint8Array([97, 98])], ['ab']]],
  ['class instances of different classes', [[new Point(1, 2)], [new Other(1, 2)], [{ x: 1, y: 2 }]]],
  ['lone surrogates', [['\ud800'], ['\udc00'], ['\ufffd']]],
  ['RegExp vs string', [[/a/g], ['/a/g'], [/a/]]],
  [
    'ArrayBuffer vs its Uint8Array vs a DataView',
    [[new Uint8Array([1]).buffer], [new Uint8Array([1])], [new DataView(new Uint8Array([1]).buffer)]],
  ],
  ['a hole vs undefined', [[holeThenOne()], [[undefined, 1]]]],
  ['a boxed number vs the number vs boxed -0', [[new Number(1)], [1], [new Number(-0)], [new Number(0)]]],
  // Fractions are written as their bits, integers as decimals.
  ['neighbouring fractions (0.1 + 0.2 is the next one after 0.3) vs their text', [[0.1 + 0.2], [0.3], ['0.3']]],
  ['a fraction vs the integers around it vs its text', [[1.5], [1], [2], ['d1073217536.0;'], [1073217536]]],
  ['the smallest fractions and their signs', [[5e-324], [-5e-324], [Number.EPSILON], [1 + Number.EPSILON], [1]]],
  ['a fraction vs a boxed fraction vs NaN', [[2.5], [new Number(2.5)], [Number.NaN], [Number.NEGATIVE_INFINITY]]],
];

/** `[<hole>, 1]`, built without a literal hole. */
function holeThenOne(): unknown[] {
  const list = new Array<unknown>(2);
  list[1] = 1;
  return list;
}

describe('keys: distinct argument lists never share a key', () => {
  test.each(DISTINCT)('%s', (_label, lists) => {
    const keys = lists.map((args) => digestArgs(args));
    expect(new Set(keys).size).toBe(lists.length);
  });
});

describe('keys: equal argument lists share one key', () => {
  test('object key order does not matter, at any depth', () => {
    expect(digestArgs([{ a: 1, b: { c: 2, d: [3] } }])).toBe(digestArgs([{ b: { d: [3], c: 2 }, a: 1 }]));
  });

  test('Map and Set insertion order does not matter', () => {
    expect(
      digestArgs([
        new Map<unknown, unknown>([
          [1, 'a'],
          ['x', { y: 1 }],
        ]),
      ]),
    ).toBe(
      digestArgs([
        new Map<unknown, unknown>([
          ['x', { y: 1 }],
          [1, 'a'],
        ]),
      ]),
    );
    expect(digestArgs([new Set([3, 1, 2])])).toBe(digestArgs([new Set([1, 2, 3])]));
  });

  test('equal class instances share a key (hashed by object-hash, tagged by class)', () => {
    expect(digestArgs([new Point(1, 2)])).toBe(digestArgs([new Point(1, 2)]));
    expect(digestArgs([new Point(1, 2)])).not.toBe(digestArgs([new Point(2, 1)]));
  });

  test('shared (non-circular) references are fine', () => {
    const shared = { id: 1 };
    expect(digestArgs([[shared, shared]])).toBe(digestArgs([[{ id: 1 }, { id: 1 }]]));
  });
});

describe('keys: format', () => {
  test('prefix, name and a hash-tagged SHA-256 digest', () => {
    const key = entryKey('blog:getRelatedPosts:', [42]);
    expect(key).toMatch(/^blog:getRelatedPosts:\{[A-Za-z0-9_-]{43}\}$/);
  });

  test('a 1 MB string argument is hashed, not embedded', () => {
    const key = entryKey('p:f:', ['x'.repeat(1024 * 1024)]);
    expect(key.length).toBeLessThan(60);
  });

  test('remembered keys are the keys entryKey derives, past the limit and for long texts too', () => {
    const keyOf = entryKeys('p:f:');
    const lists = [...Array.from({ length: 2500 }, (_, i) => [i % 1500, 'en']), ['y'.repeat(200)], [{ a: [1, 2] }]];
    for (const args of [...lists, ...lists]) expect(keyOf(args)).toBe(entryKey('p:f:', args));
  });

  test('a fraction is its IEEE 754 bits (high and low word), the same text on every machine', () => {
    expect(canonicalArgs([1.5, -0.25, { x: 0.1 }])).toBe(
      'a3:d1073217536.0;d3218079744.0;o1:s1:xd1069128089.2576980378;',
    );
    expect(canonicalArgs([3, -0, Number.POSITIVE_INFINITY])).toBe('a3:n3;n-0;nInfinity;');
  });

  test('NaN is one key whatever its bits', () => {
    const words = new Uint32Array(2);
    const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    words[littleEndian ? 1 : 0] = 0x7ff80000;
    words[littleEndian ? 0 : 1] = 0x1234;
    const otherNaN = new Float64Array(words.buffer)[0];
    expect(otherNaN).toBeNaN();
    expect(digestArgs([otherNaN])).toBe(digestArgs([Number.NaN]));
  });

  test('known digests stay the same across versions', () => {
    // If this changes, every deployed cache misses once after an upgrade: change it on purpose only.
    expect(canonicalArgs([1, 'a', null, undefined, [true], { b: 2n }])).toBe('a6:n1;s1:azua1:to1:s1:bb2;');
    expect(digestArgs([42])).toBe('VhkD-SEL_o8DF74gA7I9W830FGkhBa4-IQEh1tV8SC0');
  });
});

describe('keys: arguments that cannot be keyed', () => {
  test('functions name the argument path', () => {
    expect(() => digestArgs([1, { cb: () => 1 }])).toThrow(
      new TypeError(
        'cache-memoize: argument 1.cb is a function; functions cannot be part of a cache key. Use the keyArgs option to key on something else.',
      ),
    );
  });

  test('symbols', () => {
    expect(() => digestArgs([[Symbol('s')]])).toThrow(/argument 0\[0\] is a symbol/);
  });

  test('circular values', () => {
    const a: Record<string, unknown> = { id: 1 };
    a.self = a;
    expect(() => digestArgs([a])).toThrow(/argument 0\.self is circular/);
    const list: unknown[] = [];
    list.push(list);
    expect(() => digestArgs([list])).toThrow(TypeError);
  });
});

describe('keys: property-based', () => {
  // Values whose equality we can decide structurally; the key must agree with that equality.
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(null, undefined, true, false, 0, -0, Number.NaN, Number.POSITIVE_INFINITY),
      fc.integer(),
      fc.double(),
      fc.bigInt(),
      fc.string({ unit: 'binary' }),
      fc.date({ noInvalidDate: true }),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 4 }),
      fc.uint8Array({ maxLength: 6 }).map((bytes) => Buffer.from(bytes)),
    ),
  }));

  /** Structural equality with the same type distinctions the key makes. */
  function same(a: unknown, b: unknown): boolean {
    if (typeof a !== typeof b) return false;
    if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b);
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (a instanceof Date || b instanceof Date) {
      return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
    }
    if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b as object).sort();
    if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
    return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }

  test('equal values give equal keys, distinct values give distinct keys', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 3 }), fc.array(value, { maxLength: 3 }), (a, b) => {
        expect(digestArgs(a) === digestArgs(b)).toBe(same(a, b));
      }),
      { numRuns: 3000 },
    );
  });

  /** A deep copy that rebuilds objects with their keys in reverse order. */
  function reordered(v: unknown): unknown {
    if (Buffer.isBuffer(v)) return Buffer.from(v);
    if (v instanceof Date) return new Date(v.getTime());
    if (Array.isArray(v)) return v.map(reordered);
    if (typeof v !== 'object' || v === null) return v;
    const entries = Object.entries(v).reverse();
    return Object.fromEntries(entries.map(([k, x]) => [k, reordered(x)]));
  }

  test('a deep copy with keys in another order gets the same key', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 3 }), (a) => {
        expect(digestArgs(a.map(reordered))).toBe(digestArgs(a));
      }),
      { numRuns: 1000 },
    );
  });

  test('values from another realm (structuredClone) get the same key', () => {
    const args = [{ when: new Date(7), tags: new Set(['a']), index: new Map([['k', [1, { x: /re/g }]]]) }];
    expect(digestArgs(structuredClone(args))).toBe(digestArgs(args));
  });
});

describe('keys: identical across processes', () => {
  test('a child process derives the same key', async () => {
    const args = [42, 'x', { b: [1, 2], a: new Date(5) }, new Map([[1, new Set(['s'])]])];
    const fromChild = await new Promise<string>((resolve, reject) => {
      const child = fork(join(__dirname, 'fixtures', 'key-child.ts'), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      child.once('message', (m) => resolve(String(m)));
      child.once('error', reject);
      child.once('exit', (code) => code !== 0 && reject(new Error(`child exited with ${code}`)));
    });
    expect(fromChild).toBe(entryKey('blog:getRelatedPosts:', args));
  });
});

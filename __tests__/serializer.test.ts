import fc from 'fast-check';
import { SerializationError } from '../lib/errors';
import { decode, encode } from '../lib/serializer';

function roundTrip(value: unknown): unknown {
  const decoded = decode(encode(value));
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
}

describe('serializer: values come back as the same types', () => {
  test.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['-0', -0],
    ['BigInt', 12345678901234567890n],
    ['Date', new Date(1_700_000_000_123)],
    [
      'Map',
      new Map<unknown, unknown>([
        [1, 'a'],
        [{ k: 1 }, [2n]],
      ]),
    ],
    ['Set', new Set([1, 'a', undefined])],
    ['Buffer', Buffer.from([0, 1, 255])],
    ['Uint8Array', new Uint8Array([1, 2, 3])],
    ['Float64Array', new Float64Array([1.5, -0])],
    ['RegExp', /a+b/giu],
    ['string', 'héllo \ud83d\ude00'],
    ['array with undefined', [1, undefined, null]],
    ['object with undefined', { a: undefined, b: 1 }],
    ['object with a "$" key', { $: ['u'], other: 1 }],
    ['nested', { when: new Date(0), tags: new Set(['x']), counts: new Map([['a', 1n]]), raw: Buffer.from('hi') }],
  ])('%s', (_label, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  test('an invalid Date stays an invalid Date', () => {
    const back = roundTrip(new Date(Number.NaN));
    expect(back).toBeInstanceOf(Date);
    expect(Number.isNaN((back as Date).getTime())).toBe(true);
  });

  test('Buffer stays a Buffer and Uint8Array stays a Uint8Array', () => {
    expect(Buffer.isBuffer(roundTrip(Buffer.from('x')))).toBe(true);
    const bytes = roundTrip(new Uint8Array([1]));
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(bytes)).toBe(false);
  });

  test('null-prototype objects keep their null prototype', () => {
    const value = Object.assign(Object.create(null), { a: 1 });
    expect(Object.getPrototypeOf(roundTrip(value))).toBeNull();
  });

  test('an own "__proto__" property round-trips as data, without touching any prototype', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"when":"x"}');
    const back = roundTrip({ wrap: value, d: new Date(0) }) as { wrap: object };
    expect(Object.getPrototypeOf(back.wrap)).toBe(Object.prototype);
    expect(Object.hasOwn(back.wrap, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('plain JSON values use the JSON.parse-only fast path', () => {
    expect(encode({ a: [1, 'x', true, null] })).toBe('cm1J{"a":[1,"x",true,null]}');
    expect(encode(undefined)).toBe('cm1T{"$":["u"]}');
    // A bare number ends with a newline, so that a truncated one is not another number.
    expect(encode(42)).toBe('cm1J42\n');
  });

  test('the fast path leaves to the full encoder what plain JSON would get wrong', () => {
    const proto = JSON.parse('{"__proto__":{"polluted":true},"n":1}');
    const back = roundTrip({ wrap: proto }) as { wrap: object };
    expect(Object.hasOwn(back.wrap, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(encode({ $: 1 })).toMatch(/^cm1T/);
    expect(encode(new Array(3).fill(1, 0, 1))).toMatch(/^cm1T/);
    expect(encode({ a: -0 })).toMatch(/^cm1T/);
    expect(roundTrip(Object.assign(Object.create(null), { a: 1 }))).toStrictEqual(
      Object.assign(Object.create(null), { a: 1 }),
    );
    const shared = { x: 1 };
    expect(roundTrip({ a: shared, b: shared })).toStrictEqual({ a: { x: 1 }, b: { x: 1 } });
    expect(() => encode({ toJSON: () => 'not me' })).toThrow(/result\.toJSON is a function/);
  });

  test('property: JSON-like values round-trip exactly', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(roundTrip(value)).toStrictEqual(value);
      }),
      { numRuns: 500 },
    );
  });
});

describe('serializer: results that cannot round-trip are refused', () => {
  class Money {
    constructor(readonly cents: number) {}
  }
  const circular: Record<string, unknown> = {};
  circular.self = circular;

  test.each<[string, unknown, RegExp]>([
    ['function', () => 1, /result is a function/],
    ['symbol', Symbol('s'), /result is a symbol/],
    ['nested function', { a: [{ f() {} }] }, /result\.a\[0\]\.f is a function/],
    ['symbol keys', { [Symbol('k')]: 1 }, /symbol keys/],
    ['circular', circular, /result\.self is circular/],
    ['class instance', new Money(5), /instance of Money, whose prototype would be lost/],
    ['Promise', Promise.resolve(1), /instance of Promise/],
    ['WeakMap', new WeakMap(), /instance of WeakMap/],
  ])('%s', (_label, value, message) => {
    let thrown: unknown;
    try {
      encode(value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SerializationError);
    expect((thrown as SerializationError).code).toBe('E_UNSERIALIZABLE');
    expect((thrown as Error).message).toMatch(message);
  });
});

describe('serializer: stored bytes that are not ours decode as a miss, never throw', () => {
  test.each<[string, string]>([
    ['random bytes', '\u0000\u00ff\u0013garbage'],
    ['empty', ''],
    ['foreign JSON', '{"__proto__":{"polluted":true}}'],
    ['truncated envelope', encode({ a: new Date(0) }).slice(0, 12)],
    ['future version', 'cm9J{"a":1}'],
    ['malformed tag', 'cm1T{"$":"u"}'],
    ['unknown tag', 'cm1T{"$":["zz"]}'],
    ['bad bigint', 'cm1T{"$":["b","1.5"]}'],
    ['bad typed array', 'cm1T{"$":["A","Function","AAAA"]}'],
    ['truncated typed array', 'cm1T{"$":["A","Float64Array","AAAA"]}'],
    ['prototype-polluting tagged object', 'cm1T{"$":["O",{"__proto__":{"polluted":true}}]}'],
  ])('%s', (_label, stored) => {
    const decoded = decode(stored);
    if (decoded.ok) {
      // A well-formed envelope may decode; it must never have touched a prototype.
      expect(Object.getPrototypeOf(decoded.value)).toBe(Object.prototype);
    } else {
      expect(decoded.error.code).toBe('E_DECODE');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('foreign bytes are not ours', () => {
    expect(decode('{"a":1}').ok).toBe(false);
    expect(decode('cm9J{"a":1}').ok).toBe(false);
  });
});

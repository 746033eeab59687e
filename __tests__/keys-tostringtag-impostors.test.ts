import vm from 'node:vm';
import fc from 'fast-check';
import { digestArgs } from '../lib/canonical-args';

// Keys tell types by their brand (internal slots) and their own prototype, never by
// Symbol.toStringTag: an object claiming to be a Date or a Map is a class instance, refused with a
// TypeError unless its class says how to key it, and never keyed like the real thing.

const BUILTINS: Array<[string, () => unknown]> = [
  ['Date', () => new Date(0)],
  ['Map', () => new Map()],
  ['Set', () => new Set()],
  ['RegExp', () => /x/],
  ['Array', () => []],
  ['Object', () => ({})],
  ['ArrayBuffer', () => new ArrayBuffer(0)],
  ['Uint8Array', () => new Uint8Array()],
  ['DataView', () => new DataView(new ArrayBuffer(0))],
  ['Number', () => new Number(0)],
  ['String', () => new String('')],
];

/** An instance claiming to be `tag`, with methods that would fool duck typing. */
function impostor(tag: string): object {
  const Impostor = class {
    readonly size = 0;
    get [Symbol.toStringTag]() {
      return tag;
    }
    getTime() {
      return 0;
    }
    entries() {
      return [][Symbol.iterator]();
    }
  };
  return new Impostor();
}

function keyOrRefusal(args: unknown[]): string {
  try {
    return digestArgs(args);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(
      /^cache-memoize: argument .* Use the keyArgs option to key on something else\.$/,
    );
    return 'refused';
  }
}

describe('keys: Symbol.toStringTag is never trusted', () => {
  test.each(BUILTINS.filter(([tag]) => tag !== 'Object'))(
    'an object claiming to be %s is refused with a TypeError, not keyed as one',
    (tag) => {
      expect(() => digestArgs([impostor(tag)])).toThrow(
        new RegExp(`cannot be keyed by its visible state \\(it claims to be an? ${tag} by Symbol\\.toStringTag\\)`),
      );
    },
  );

  test('a class whose tag says Object is what every class instance is: keyed by its visible state, not as {}', () => {
    expect(digestArgs([impostor('Object')])).not.toBe(digestArgs([{ size: 0 }]));
  });

  test("the issue cases: a fake Date no longer throws a raw error, a fake Map no longer shares a real one's key", () => {
    class FakeDate {
      get [Symbol.toStringTag]() {
        return 'Date';
      }
    }
    class FakeMap {
      get [Symbol.toStringTag]() {
        return 'Map';
      }
    }
    expect(() => digestArgs([new FakeDate()])).toThrow(TypeError);
    expect(keyOrRefusal([new FakeMap()])).not.toBe(digestArgs([new Map()]));
  });

  test('objects made from a built-in prototype without its brand are refused', () => {
    for (const proto of [Date.prototype, Map.prototype, Set.prototype, Uint8Array.prototype, RegExp.prototype]) {
      expect(keyOrRefusal([Object.create(proto)])).toBe('refused');
    }
  });

  test('property: an impostor of any tag, anywhere in the arguments, never gets the key of a real value', () => {
    const realKeys = new Set(BUILTINS.map(([, make]) => digestArgs([make()])));
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...BUILTINS.map(([tag]) => tag)), fc.string()),
        fc.constantFrom<(x: unknown) => unknown[]>(
          (x) => [x],
          (x) => [[x]],
          (x) => [{ a: x }],
          (x) => [new Map([[1, x]])],
          (x) => [new Set([x])],
        ),
        (tag, place) => {
          const key = keyOrRefusal(place(impostor(tag)));
          expect(realKeys.has(key)).toBe(false);
          if (tag !== 'Object') expect(key).toBe('refused');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('keys: real built-ins from any realm keep their keys', () => {
  test("values from a vm context and from structuredClone are keyed as this realm's", () => {
    const source = `[
      new Date(5), new Map([[1, { a: [2] }]]), new Set(['s']), /re/gi, [1, [2]], { k: 'v' },
      Object.assign(Object.create(null), { n: 1 }), new Uint8Array([7]), new Number(-0), new String('x'),
    ]`;
    const here = [
      new Date(5),
      new Map([[1, { a: [2] }]]),
      new Set(['s']),
      /re/gi,
      [1, [2]],
      { k: 'v' },
      Object.assign(Object.create(null), { n: 1 }),
      new Uint8Array([7]),
      new Number(-0),
      new String('x'),
    ];
    expect(digestArgs(vm.runInNewContext(source))).toBe(digestArgs(here));
    expect(digestArgs(structuredClone(here))).toBe(digestArgs(here));
  });

  test('a built-in with a lying own property is keyed by what it holds', () => {
    const map = new Map([[1, 2]]);
    Object.defineProperty(map, 'entries', { value: () => [][Symbol.iterator]() });
    Object.defineProperty(map, Symbol.iterator, { value: () => [][Symbol.iterator]() });
    expect(digestArgs([map])).toBe(digestArgs([new Map([[1, 2]])]));
    const date = new Date(5);
    Object.defineProperty(date, 'getTime', { value: () => 0 });
    expect(digestArgs([date])).toBe(digestArgs([new Date(5)]));
  });

  test('boxed primitives are keyed by the primitive, apart from it', () => {
    expect(digestArgs([new Number(-0)])).not.toBe(digestArgs([new Number(0)]));
    expect(digestArgs([new Number(1)])).not.toBe(digestArgs([1]));
    expect(digestArgs([new String('1')])).not.toBe(digestArgs([new Number(1)]));
    expect(() => digestArgs([Object(Symbol('s'))])).toThrow(/argument 0 is a boxed symbol/);
  });
});

import vm from 'node:vm';
import fc from 'fast-check';
import { SerializationError } from '../lib/errors';
import { createMemoizer } from '../lib/memoizer';
import type { ErrorEvent } from '../lib/options';
import { decode, encode } from '../lib/serializer';
import { MemoryStore } from '../lib/stores/memory';

// The value encoder tells types by their brand (internal slots) and their own prototype, never by
// Symbol.toStringTag: an object that only claims to be a Date is a class instance, E_UNSERIALIZABLE,
// returned as it is and not stored, so no process ever reads it back as a real Date.

const BUILTIN_NAMES = [
  'Date',
  'Map',
  'Set',
  'RegExp',
  'Array',
  'Object',
  'Uint8Array',
  'Float64Array',
  'BigInt64Array',
  'ArrayBuffer',
  'DataView',
  'Buffer',
  'Error',
  'Number',
  'String',
  'Boolean',
];

/** A class whose instances claim to be `tag`, with some own data to make the copy look convincing. */
function impostor(tag: string): object {
  const Impostor = class {
    readonly time = 0;
    readonly size = 0;
    get [Symbol.toStringTag]() {
      return tag;
    }
    getTime() {
      return 0;
    }
    toJSON() {
      return 0;
    }
  };
  return new Impostor();
}

function refusal(value: unknown): SerializationError {
  try {
    encode(value);
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
    return error as SerializationError;
  }
  throw new Error(`encode accepted ${String(value)}`);
}

describe('values: Symbol.toStringTag is never trusted', () => {
  test.each(BUILTIN_NAMES.filter((name) => name !== 'Object'))(
    'an object claiming to be %s is E_UNSERIALIZABLE, and says what it claims',
    (tag) => {
      const error = refusal(impostor(tag));
      expect(error.code).toBe('E_UNSERIALIZABLE');
      expect(error.message).toMatch(
        new RegExp(
          `^cache-memoize: cannot cache: result is an instance of Impostor, whose prototype would be lost \\(it claims to be ${tag} by Symbol.toStringTag\\)$`,
        ),
      );
    },
  );

  test('nested anywhere, an impostor is refused with its path', () => {
    const error = refusal({ list: [1, new Map([['k', impostor('Date')]])] });
    expect(error.message).toMatch(
      /^cache-memoize: cannot cache: result\.list\[1\]<value 0> is an instance of Impostor/,
    );
  });

  test('objects made from a built-in prototype without its brand are refused too', () => {
    for (const proto of [Date.prototype, Map.prototype, Uint8Array.prototype, RegExp.prototype]) {
      expect(refusal({ x: Object.create(proto) }).code).toBe('E_UNSERIALIZABLE');
    }
  });

  test('subclasses of built-ins are class instances: their prototype would be lost', () => {
    class Money extends Map<string, number> {}
    class Stamp extends Date {}
    expect(refusal(new Money()).message).toMatch(
      /instance of Money, whose prototype would be lost \(a subclass of Map\)/,
    );
    expect(refusal(new Stamp(0)).message).toMatch(
      /instance of Stamp, whose prototype would be lost \(a subclass of Date\)/,
    );
  });

  test('property: an impostor of any tag, at any place in a result, is E_UNSERIALIZABLE', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...BUILTIN_NAMES), fc.string()),
        fc.constantFrom<(inner: unknown) => unknown>(
          (x) => x,
          (x) => [x],
          (x) => ({ a: { b: x } }),
          (x) => new Map([[x, 1]]),
          (x) => new Set([1, x]),
        ),
        (tag, place) => {
          expect(refusal(place(impostor(tag))).code).toBe('E_UNSERIALIZABLE');
        },
      ),
      { numRuns: 300 },
    );
  });

  test('through memoize: the impostor is returned unchanged, not stored, and reported', async () => {
    const store = new MemoryStore();
    const errors: ErrorEvent[] = [];
    const fake = impostor('Date');
    let runs = 0;
    const f = createMemoizer({ store, onError: (e) => errors.push(e) })(async function when(_id: number) {
      runs++;
      return fake;
    });
    expect(await f(1)).toBe(fake);
    expect(await store.get(f.keyFor(1))).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_UNSERIALIZABLE']);
    expect(await f(1)).toBe(fake);
    expect(runs).toBe(2);
  });
});

describe('values: real built-ins from any realm keep their type', () => {
  const source = `({
    when: new Date(5), map: new Map([[1, 'a']]), set: new Set([2]), re: /x+/gi, list: [1, [2]],
    bytes: new Uint8Array([1, 2, 3]), floats: new Float64Array([1.5]), big: new BigInt64Array([3n]),
  })`;
  const here = {
    when: new Date(5),
    map: new Map([[1, 'a']]),
    set: new Set([2]),
    re: /x+/gi,
    list: [1, [2]],
    bytes: new Uint8Array([1, 2, 3]),
    floats: new Float64Array([1.5]),
    big: new BigInt64Array([3n]),
  };

  test.each<[string, () => unknown]>([
    ['a vm context', () => vm.runInNewContext(source)],
    ['structuredClone', () => structuredClone(here)],
  ])("values made in %s encode exactly as this realm's, and decode to this realm's types", (_label, make) => {
    const foreign = make();
    expect(encode(foreign)).toBe(encode(here));
    const decoded = decode(encode(foreign));
    expect(decoded).toEqual({ ok: true, value: here });
    const value = (decoded as { value: typeof here }).value;
    expect(value.when).toBeInstanceOf(Date);
    expect(value.map).toBeInstanceOf(Map);
    expect(value.bytes).toBeInstanceOf(Uint8Array);
  });

  test('a Buffer stays a Buffer, and a plain array from another realm is plain JSON', () => {
    expect(encode(Buffer.from('hi'))).toBe('cm1T{"$":["B","aGk="]}');
    expect(encode(vm.runInNewContext('[1, {"a": "b"}]'))).toBe('cm1J[1,{"a":"b"}]');
    expect(encode(vm.runInNewContext('Object.assign(Object.create(null), { k: 1 })'))).toBe('cm1T{"$":["N",{"k":1}]}');
  });
});

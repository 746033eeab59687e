import vm from 'node:vm';
import fc from 'fast-check';
import objectHash from 'object-hash';
import { canonicalArgs, digestArgs, KEY_METHOD } from '../lib/canonical-args';
import { createMemoizer } from '../lib/memoizer';
import { MemoryStore } from '../lib/stores/memory';

// The rule for class instances: an explicit key if the class gives one ([Symbol.for('cache-memoize.key')]()
// or toJSON()), else its visible state hashed with object-hash, but only when that is all the state it
// has; otherwise a TypeError that says how to key it. Two instances the function may tell apart never
// share a key.

/** The key of `args`, or the message of the TypeError that refuses them. */
function keyOrRefusal(args: unknown[]): { key: string } | { refused: string } {
  try {
    return { key: digestArgs(args) };
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return { refused: (error as Error).message };
  }
}

/** An array of `length` holes, with `value` at `index`. */
function sparse(length: number, [index, value]: [number, unknown]): unknown[] {
  const list = new Array<unknown>(length);
  list[index] = value;
  return list;
}

class Holder {
  constructor(readonly value: unknown) {}
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('class instances: an explicit key', () => {
  class UserRef {
    readonly #id: string;
    readonly #loadedAt = Date.now();
    constructor(id: string) {
      this.#id = id;
    }
    get age() {
      return Date.now() - this.#loadedAt;
    }
    [KEY_METHOD]() {
      return this.#id;
    }
  }

  test('[Symbol.for("cache-memoize.key")]() is the key, whatever else the instance holds', () => {
    expect(KEY_METHOD).toBe(Symbol.for('cache-memoize.key'));
    expect(digestArgs([new UserRef('a')])).toBe(digestArgs([new UserRef('a')]));
    expect(digestArgs([new UserRef('a')])).not.toBe(digestArgs([new UserRef('b')]));
    // Tagged with the class: not the key of the bare id, nor of another class returning the same.
    class GroupRef {
      [KEY_METHOD]() {
        return 'a';
      }
    }
    expect(new Set([digestArgs([new UserRef('a')]), digestArgs(['a']), digestArgs([new GroupRef()])]).size).toBe(3);
  });

  test('a toJSON() the class defines is its key; one inherited from a built-in is not', () => {
    class Money {
      constructor(
        readonly cents: number,
        readonly cache: Map<string, string> = new Map(),
      ) {}
      toJSON() {
        return { cents: this.cents };
      }
    }
    expect(canonicalArgs([new Money(5)])).toBe('a1:ks5:Moneyo1:s5:centsn5;');
    expect(canonicalArgs([new URL('https://example.com/a')])).toBe('a1:ks3:URLs21:https://example.com/a');
    class Stamp extends Date {}
    expect(() => canonicalArgs([new Stamp(0)])).toThrow(/its class extends the built-in Date/);
  });

  test('the key method wins over toJSON, and may return any keyable value', () => {
    class Both {
      toJSON() {
        return 'json';
      }
      [KEY_METHOD]() {
        return { by: 'key', at: new Date(1), tags: new Set(['x']) };
      }
    }
    expect(canonicalArgs([new Both()])).toMatch(/^a1:ks4:Botho3:/);
  });

  test.each<[string, object, RegExp]>([
    [
      'returns the instance',
      {
        [KEY_METHOD]() {
          return this;
        },
      },
      /argument 0\.\[Symbol\.for\('cache-memoize\.key'\)\]\(\) is circular/,
    ],
    ['returns a function', { [KEY_METHOD]: () => () => 1 }, /\(\) is a function/],
    [
      'throws',
      {
        [KEY_METHOD]() {
          throw new Error('no id yet');
        },
      },
      /\(\) could not be read \(no id yet\)/,
    ],
    ['is not a method', { [KEY_METHOD]: 'id' }, /whose \[Symbol\.for\('cache-memoize\.key'\)\] is not a method/],
  ])('a key method that %s is a TypeError', (_label, members, message) => {
    class Keyed {}
    Object.assign(Keyed.prototype, members);
    expect(() => canonicalArgs([new Keyed()])).toThrow(message);
  });
});

describe('class instances: visible state, hashed with object-hash', () => {
  test('a plain data class keeps the key it had: object-hash of the instance, tagged with the class name', () => {
    expect(canonicalArgs([new Point(1, 2)])).toBe(`a1:cs5:Point${objectHash(new Point(1, 2))}`);
    class Account {
      private readonly balance: number; // TypeScript's `private` is an ordinary, visible property
      constructor(balance: number) {
        this.balance = balance;
      }
      get overdrawn() {
        return this.balance < 0;
      }
    }
    expect(digestArgs([new Account(1)])).not.toBe(digestArgs([new Account(2)]));
  });

  test.each<[string, unknown, unknown]>([
    ['-0 and 0', -0, 0],
    ['lone surrogates', '\ud800', '\udc00'],
    ['a lone surrogate and U+FFFD', '\ud800', '\ufffd'],
    ['a hole and undefined', sparse(2, [1, 1]), [undefined, 1]],
    ['holes in different places', sparse(2, [0, 1]), sparse(2, [1, 1])],
    ['an ArrayBuffer and a Uint8Array', new Uint8Array([1]).buffer, new Uint8Array([1])],
    ['Buffers whose bytes look like object-hash text', Buffer.from('a,b'), Buffer.from('a')],
    ['regexps whose source looks like object-hash text', /a,b/, /a/],
    ['-0 and 0 in a Float64Array', new Float64Array([-0]), new Float64Array([0])],
    [
      'instances keyed by their key method',
      new (class K {
        [KEY_METHOD]() {
          return 1;
        }
      })(),
      new (class K {
        [KEY_METHOD]() {
          return 2;
        }
      })(),
    ],
    ['keys that are lone surrogates', { '\ud800': 1 }, { '\udc00': 1 }],
    ['a Map holding -0 and one holding 0', new Map([['k', -0]]), new Map([['k', 0]])],
  ])('fields that object-hash alone would merge stay apart: %s', (_label, a, b) => {
    expect(digestArgs([new Holder(a)])).not.toBe(digestArgs([new Holder(b)]));
    expect(digestArgs([new Holder({ deep: [a] })])).not.toBe(digestArgs([new Holder({ deep: [b] })]));
  });

  // Field values of every kind keys hold, including the ones object-hash would merge by itself.
  const field = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(null, undefined, true, false, 0, -0, Number.NaN, '\ud800', '\udc00', '\ufffd'),
      fc.integer({ min: -3, max: 3 }),
      fc.double(),
      fc.bigInt({ min: -3n, max: 3n }),
      fc.string({ unit: 'binary', maxLength: 3 }),
      fc.date({ min: new Date(0), max: new Date(3) }),
      fc.uint8Array({ maxLength: 2 }).map((bytes) => Buffer.from(bytes)),
      fc.uint8Array({ maxLength: 2 }).map((bytes) => bytes.buffer),
      fc.sparseArray(tie('value'), { maxLength: 3 }),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(fc.string({ unit: 'binary', maxLength: 2 }), tie('value'), { maxKeys: 3 }),
      fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 2 }).map((entries) => new Map(entries)),
      fc.array(tie('value'), { maxLength: 2 }).map((members) => new Set(members)),
      tie('value').map((inner) => new Holder(inner)),
    ),
  })).value;

  test('property: instances whose fields would get different keys as arguments get different keys', () => {
    fc.assert(
      fc.property(field, field, (a, b) => {
        if (digestArgs([a]) !== digestArgs([b]))
          expect(digestArgs([new Holder(a)])).not.toBe(digestArgs([new Holder(b)]));
      }),
      { numRuns: 3000 },
    );
  });

  /** A deep copy that keeps every type, holes and null prototypes included. */
  function copy(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (v instanceof Holder) return new Holder(copy(v.value));
    if (v instanceof Date) return new Date(v.getTime());
    if (Buffer.isBuffer(v)) return Buffer.from(v);
    if (v instanceof ArrayBuffer) return v.slice(0);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [copy(k), copy(x)]));
    if (v instanceof Set) return new Set([...v].map(copy));
    if (Array.isArray(v)) {
      const out = new Array(v.length);
      for (const i of Object.keys(v)) out[Number(i)] = copy(v[Number(i)]);
      return out;
    }
    const out = Object.create(Object.getPrototypeOf(v));
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: copy(x), enumerable: true });
    return out;
  }

  test('property: instances whose fields are deep copies of each other share a key', () => {
    fc.assert(
      fc.property(field, (a) => {
        expect(digestArgs([new Holder(copy(a))])).toBe(digestArgs([new Holder(a)]));
      }),
      { numRuns: 1000 },
    );
  });

  test('an instance made in another realm (vm) is keyed by the same rule', () => {
    const make = vm.runInNewContext('class P { constructor(x) { this.x = x } }; (x) => new P(x)');
    expect(digestArgs([make(1)])).toBe(digestArgs([make(1)]));
    expect(digestArgs([make(1)])).not.toBe(digestArgs([make(2)]));
    const hidden = vm.runInNewContext('class Q { #x; constructor(x) { this.#x = x } }; (x) => new Q(x)');
    expect(() => digestArgs([hidden(1)])).toThrow(/class Q declares #private members/);
  });
});

describe('class instances whose state is not all visible are refused, with how to key them', () => {
  const weakState = new WeakMap<object, number>();
  function __classPrivateFieldSet(receiver: object, state: WeakMap<object, number>, value: number): void {
    state.set(receiver, value);
  }
  class Compiled {
    // What TypeScript emits for a #private field when it compiles to an older target.
    constructor(i: number) {
      __classPrivateFieldSet(this, weakState, i);
    }
  }
  class Private {
    readonly #id: number;
    constructor(i: number) {
      this.#id = i;
    }
    get id() {
      return this.#id;
    }
  }
  class PrivateMethod {
    constructor(readonly i: number) {}
    #secret() {
      return this.i;
    }
    reveal() {
      return this.#secret();
    }
  }
  class SubOfPrivate extends Private {}
  class Symbolic {
    constructor(i: number) {
      (this as unknown as Record<symbol, number>)[Symbol('id')] = i;
    }
  }
  class Closure {
    readonly get: () => number;
    constructor(i: number) {
      this.get = () => i;
    }
  }
  class Accessor {
    constructor(i: number) {
      Object.defineProperty(this, 'id', { get: () => i, enumerable: true });
    }
  }
  class Hidden {
    constructor(i: number) {
      Object.defineProperty(this, 'id', { value: i, enumerable: false });
    }
  }
  class Bag extends Map<string, number> {}
  class Tagged {
    constructor(readonly i: number) {}
    get [Symbol.toStringTag]() {
      return 'Tagged';
    }
  }
  const coded = (i: number) => Object.assign(new Error('failed'), { code: `E${i}` });

  const CASES: Array<[string, (i: number) => object, RegExp]> = [
    ['#private fields', (i) => new Private(i), /\(class Private declares #private members\); give Private a/],
    ['#private methods', (i) => new PrivateMethod(i), /class PrivateMethod declares #private members/],
    ['a parent class with #private fields', (i) => new SubOfPrivate(i), /class Private declares #private members/],
    ['private fields compiled to WeakMaps', (i) => new Compiled(i), /class Compiled declares #private members/],
    ['symbol-keyed state', (i) => new Symbolic(i), /\(it holds symbol-keyed state, Symbol\(id\)\)/],
    ['a closure field', (i) => new Closure(i), /\(it holds a function in \.get, whose closure is hidden\)/],
    ['an own accessor', (i) => new Accessor(i), /\(it has an accessor property \.id\)/],
    ['a non-enumerable property', (i) => new Hidden(i), /\(it has a non-enumerable property \.id\)/],
    [
      'a built-in parent',
      (i) => new Bag([['n', i]]),
      /\(its class extends the built-in Map, whose state is internal\)/,
    ],
    [
      'an Error with a code',
      coded,
      /an instance of Error that cannot be keyed by its visible state \(it is the built-in Error/,
    ],
    ['its own Symbol.toStringTag', (i) => new Tagged(i), /\(it claims to be a Tagged by Symbol\.toStringTag\)/],
  ];

  test.each(CASES)('%s', (_label, make, reason) => {
    const refusal = keyOrRefusal([{ nested: [make(1)] }]);
    expect(refusal).toEqual({ refused: expect.stringMatching(reason) });
    expect(refusal).toEqual({
      refused: expect.stringMatching(
        /^cache-memoize: argument 0\.nested\[0\] is an instance of .* Use the keyArgs option to key on something else\.$/,
      ),
    });
  });

  test('property: two such instances never share a key (they are refused, whatever they hold)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CASES), fc.integer(), fc.integer(), ([, make], a, b) => {
        expect(keyOrRefusal([make(a)])).toHaveProperty('refused');
        expect(keyOrRefusal([[make(b)]])).toHaveProperty('refused');
      }),
      { numRuns: 300 },
    );
  });

  test('through memoize: keyFor and the call itself reject with the TypeError; nothing is shared', async () => {
    let runs = 0;
    const f = createMemoizer({ store: new MemoryStore() })(async function load(ref: Private) {
      runs++;
      return ref.id;
    });
    expect(() => f.keyFor(new Private(1))).toThrow(TypeError);
    await expect(f(new Private(1))).rejects.toThrow(/cannot be keyed by its visible state/);
    expect(runs).toBe(0);
    const keyed = createMemoizer({ store: new MemoryStore() })(
      async function byId(ref: Private) {
        return ref.id;
      },
      { keyArgs: (ref) => [ref.id] },
    );
    expect(await keyed(new Private(1))).toBe(1);
    expect(await keyed(new Private(2))).toBe(2);
  });
});

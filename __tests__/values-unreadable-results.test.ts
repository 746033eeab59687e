import fc from 'fast-check';
import { SerializationError } from '../lib/errors';
import { createMemoizer } from '../lib/memoizer';
import type { ErrorEvent } from '../lib/options';
import { encode } from '../lib/serializer';
import { MemoryStore } from '../lib/stores/memory';

// Whatever goes wrong while a result is walked (a getter or proxy trap that throws, a revoked proxy),
// encode throws E_UNSERIALIZABLE with the original error as its cause, never anything else: the
// engine then returns the result and reports, instead of failing a call whose function succeeded.

class Boom extends Error {}

/** Values that throw a Boom (or TypeError, for the revoked proxy) when they are read. */
function poisoned(kind: string): unknown {
  const revocable = Proxy.revocable({ a: 1 }, {});
  switch (kind) {
    case 'getter':
      return {
        get field() {
          throw new Boom('getter');
        },
      };
    case 'revoked proxy':
      revocable.revoke();
      return revocable.proxy;
    case 'ownKeys trap':
      return new Proxy(
        { a: 1 },
        {
          ownKeys() {
            throw new Boom('ownKeys');
          },
        },
      );
    case 'getPrototypeOf trap':
      return new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Boom('getPrototypeOf');
          },
        },
      );
    case 'array index getter':
      return Object.defineProperty([1, 2], 1, {
        get() {
          throw new Boom('index');
        },
      });
    default:
      throw new Error(kind);
  }
}

const KINDS = ['getter', 'revoked proxy', 'ownKeys trap', 'getPrototypeOf trap', 'array index getter'];

function refusal(value: unknown, maxBytes?: number): SerializationError {
  try {
    encode(value, maxBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
    return error as SerializationError;
  }
  throw new Error('encode accepted a poisoned value');
}

describe('values: a result that throws while it is read is E_UNSERIALIZABLE, with the cause', () => {
  test.each(KINDS)('%s', (kind) => {
    const error = refusal({ data: [poisoned(kind)] });
    expect(error.code).toBe('E_UNSERIALIZABLE');
    expect(error.message).toMatch(/^cache-memoize: cannot cache: result\.data\[0\]\S* could not be read \(.+\)$/);
    expect(error.cause).toBeInstanceOf(kind === 'revoked proxy' ? TypeError : Boom);
  });

  test('property: a poisoned value anywhere, under any size limit, gives only E_UNSERIALIZABLE or E_TOO_LARGE', () => {
    const place = fc.constantFrom<(inner: unknown) => unknown>(
      (x) => x,
      (x) => [1, 'two', x],
      (x) => ({ ok: new Date(0), bad: { x } }),
      (x) => new Map([['k', x]]),
      (x) => new Set([x]),
      (x) => [undefined, x],
    );
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), place, fc.option(fc.nat({ max: 100 })), (kind, at, max) => {
        const error = refusal(at(poisoned(kind)), max ?? undefined);
        expect(['E_UNSERIALIZABLE', 'E_TOO_LARGE']).toContain(error.code);
      }),
      { numRuns: 300 },
    );
  });

  test('through memoize: the call still resolves with the result, and onError gets E_UNSERIALIZABLE', async () => {
    const store = new MemoryStore();
    const errors: ErrorEvent[] = [];
    const result = { data: poisoned('getter') };
    const f = createMemoizer({ store, onError: (e) => errors.push(e) })(async function load(_id: number) {
      return result;
    });
    await expect(f(1)).resolves.toBe(result);
    expect(await store.get(f.keyFor(1))).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_UNSERIALIZABLE']);
    expect(errors[0]?.error.cause).toBeInstanceOf(Boom);
  });
});

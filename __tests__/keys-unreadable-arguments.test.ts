import fc from 'fast-check';
import { canonicalArgs } from '../lib/canonical-args';

// An argument that throws while it is keyed (a getter, a proxy trap, a revoked proxy, a key method)
// is a TypeError naming the argument path and pointing to keyArgs, with the original error as its
// cause, never the raw error.

class Boom extends Error {}

function poisoned(kind: string): unknown {
  switch (kind) {
    case 'getter':
      return {
        get field() {
          throw new Boom('getter');
        },
      };
    case 'revoked proxy': {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    }
    case 'ownKeys trap':
      return new Proxy(
        {},
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
    case 'key method':
      return {
        __proto__: {
          [Symbol.for('cache-memoize.key')]() {
            throw new Boom('key');
          },
        },
      };
    default:
      throw new Error(kind);
  }
}

const KINDS = ['getter', 'revoked proxy', 'ownKeys trap', 'getPrototypeOf trap', 'key method'];

function refusal(args: unknown[]): TypeError {
  try {
    canonicalArgs(args);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return error as TypeError;
  }
  throw new Error('canonicalArgs accepted a poisoned argument');
}

describe('keys: an argument that throws while it is read', () => {
  test.each(KINDS)('%s: a TypeError with the path, the cause and the keyArgs hint', (kind) => {
    const error = refusal([1, { list: [poisoned(kind)] }]);
    expect(error.message).toMatch(
      /^cache-memoize: argument 1\.list\[0\]\S* could not be read \(.+\)\. Use the keyArgs option to key on something else\.$/,
    );
    expect(error.cause).toBeInstanceOf(kind === 'revoked proxy' ? TypeError : Boom);
  });

  test('property: a poisoned value anywhere in the arguments gives only a TypeError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.constantFrom<(x: unknown) => unknown[]>(
          (x) => [x],
          (x) => ['a', [1, x]],
          (x) => [{ a: { b: x } }],
          (x) => [new Map([[x, 1]])],
          (x) => [new Set([x])],
        ),
        (kind, place) => {
          refusal(place(poisoned(kind)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

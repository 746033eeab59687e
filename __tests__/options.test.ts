import { createMemoizer } from '../lib/memoizer';
import { MemoryStore } from '../lib/stores/memory';

const store = new MemoryStore();
async function fn() {
  return 1;
}

function memoizeWith(options: unknown) {
  return () => createMemoizer({ store })(fn, options as never);
}

describe('bad input is a TypeError naming the option', () => {
  test.each<[string, unknown, RegExp]>([
    ['ttl 0', { ttl: 0 }, /ttl must be a number of seconds \(at least 0\.001, or Infinity\).*got 0$/],
    ['ttl -1', { ttl: -1 }, /ttl must be .* got -1$/],
    ['ttl NaN', { ttl: Number.NaN }, /ttl must be .* got NaN$/],
    ['ttl below 1 ms', { ttl: 0.0001 }, /ttl must be/],
    ['ttl "10 minutes"', { ttl: '10 minutes' }, /ttl must be .*'500ms', '30s', '5m', '1h', '1d'; got "10 minutes"$/],
    ['ttl "0s"', { ttl: '0s' }, /ttl must be/],
    ['ttl {}', { ttl: {} }, /ttl must be .* got an object$/],
    ['ttl shorthand 0', 0, /ttl must be/],
    ['ttl shorthand "1 hour"', '1 hour', /ttl must be/],
    [
      'keyPrefix empty',
      { keyPrefix: '' },
      /keyPrefix must be a non-empty string of at most 200 characters without \{ or \}/,
    ],
    ['keyPrefix with {', { keyPrefix: 'a{b' }, /keyPrefix must be/],
    ['keyPrefix with }', { keyPrefix: 'a}' }, /keyPrefix must be/],
    ['keyPrefix too long', { keyPrefix: 'x'.repeat(201) }, /keyPrefix must be/],
    ['keyPrefix number', { keyPrefix: 5 }, /keyPrefix must be .* got 5$/],
    ['name empty', { name: '' }, /name must be a non-empty string .* without \{, \} or :; got ""$/],
    ['name with :', { name: 'a:b' }, /name must be/],
    ['keyArgs not a function', { keyArgs: [1] }, /keyArgs must be a function, got an array/],
    ['shouldCache not a function', { shouldCache: true }, /shouldCache must be a function, got true/],
    ['onHit not a function', { onHit: 'log' }, /onHit must be a function/],
    ['onError not a function', { onError: {} }, /onError must be a function/],
    ['unknown option (a typo)', { tll: 60 }, /unknown option 'tll' in memoize\(fn\)/],
    ['store and client', { store, client: {} }, /either store or client, not both/],
    ['store that is not a Store', { store: {} }, /store must implement the Store interface/],
    ['client that is not a client', { client: {} }, /RedisStore: client must be a node-redis client/],
    ['options not an object', [60], /options of memoize\(fn\) must be an object, got an array/],
  ])('%s', (_label, options, message) => {
    expect(memoizeWith(options)).toThrow(TypeError);
    expect(memoizeWith(options)).toThrow(message);
  });

  test('an anonymous function without a name option', () => {
    expect(() => createMemoizer({ store })([() => 1][0]!)).toThrow(
      /name \(fn\.name, since no name option was given\) must be a non-empty string/,
    );
    expect(() => createMemoizer({ store })([() => 1][0]!, { name: 'one' })).not.toThrow();
  });

  test('not a function', () => {
    expect(() => createMemoizer({ store })(42 as never)).toThrow(/memoize\(\) needs a function, got 42/);
  });

  test('configure() validates too', () => {
    expect(() => createMemoizer({ ttl: -5 })).toThrow(/ttl must be/);
    expect(() => createMemoizer().configure({ keyPrefix: '{x}' })).toThrow(/keyPrefix must be/);
    expect(() => createMemoizer().configure({ name: 'x' } as never)).toThrow(/unknown option 'name' in configure\(\)/);
  });
});

describe('good input', () => {
  test.each<[string, unknown]>([
    ['seconds', 3600],
    ['fractional seconds', 0.001],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['500ms', '500ms'],
    ['30s', '30s'],
    ['1.5m', '1.5m'],
    ['1h', '1h'],
    ['1d', '1d'],
  ])('ttl %s', (_label, ttl) => {
    expect(memoizeWith({ ttl, name: `t${Math.random()}`.replace('.', '') })).not.toThrow();
  });
});

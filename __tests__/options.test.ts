import { createMemoizer } from '../lib/memoizer';
import { msOption } from '../lib/option-values';
import { MemoryStore } from '../lib/stores/memory';

const store = new MemoryStore();
async function fn() {
  return 1;
}

function memoizeWith(options: unknown) {
  return () => createMemoizer({ store })(fn, options as never);
}

/** A store's methods, each taking one request object (only their presence and arity are checked). */
function storeMethods(): Record<string, (request?: unknown) => Promise<unknown>> {
  const method = (_request?: unknown) => Promise.resolve(undefined);
  return { get: method, begin: method, set: method, delete: method, rotate: method, deleteMatching: method };
}

/** A message that names the option, says what it must be, and ends with what it got. */
function rule(prefix: string, got: RegExp): RegExp {
  return new RegExp(`${prefix}; got ${got.source}$`);
}
const TIMEOUT_RULE = (got: RegExp) =>
  rule(
    String.raw`timeout must be a positive number of milliseconds up to 2147483647 \(about 24\.8 days\), or Infinity, or a duration string such as '250ms', '2s'`,
    got,
  );
const BREAKER_RULE = (got: RegExp) =>
  rule(String.raw`circuitBreaker must be false or an object \{ failures, coolDown \}`, got);
const COOL_DOWN_RULE = (got: RegExp) =>
  // No "(or Infinity)": a cool-down that never ends would be the store switched off for good.
  rule(
    String.raw`circuitBreaker\.coolDown must be a positive number of milliseconds up to 2147483647 \(about 24\.8 days\) or a duration string such as '250ms', '2s'`,
    got,
  );
const MAX_BYTES_RULE = (got: RegExp) => rule(String.raw`maxValueBytes must be a positive integer \(or Infinity\)`, got);

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
    [
      'store written for positional arguments',
      { store: { ...storeMethods(), begin: (_key: string, _ttl: number) => Promise.resolve({}) } },
      /store\.begin takes 2 parameters; Store methods take one request object/,
    ],
    ['client that is not a client', { client: {} }, /RedisStore: client must be a node-redis client/],
    ['options not an object', [60], /options of memoize\(fn\) must be an object, got an array/],
    ['timeout -1', { timeout: -1 }, TIMEOUT_RULE(/-1/)],
    ['timeout over the longest timer', { timeout: 2 ** 31 }, TIMEOUT_RULE(/2147483648/)],
    ['timeout "30d" (over the longest timer)', { timeout: '30d' }, TIMEOUT_RULE(/"30d"/)],
    ['timeout 0', { timeout: 0 }, TIMEOUT_RULE(/0/)],
    ['timeout NaN', { timeout: Number.NaN }, TIMEOUT_RULE(/NaN/)],
    ['timeout "10 minutes"', { timeout: '10 minutes' }, TIMEOUT_RULE(/"10 minutes"/)],
    ['timeout "0ms"', { timeout: '0ms' }, TIMEOUT_RULE(/"0ms"/)],
    ['timeout {}', { timeout: {} }, TIMEOUT_RULE(/an object/)],
    ['circuitBreaker true', { circuitBreaker: true }, BREAKER_RULE(/true/)],
    ['circuitBreaker "on"', { circuitBreaker: 'on' }, BREAKER_RULE(/"on"/)],
    ['circuitBreaker null', { circuitBreaker: null }, BREAKER_RULE(/null/)],
    ['circuitBreaker an array', { circuitBreaker: [3] }, BREAKER_RULE(/an array/)],
    [
      'circuitBreaker.failures 0',
      { circuitBreaker: { failures: 0 } },
      /circuitBreaker\.failures must be a positive integer; got 0$/,
    ],
    [
      'circuitBreaker.failures 1.5',
      { circuitBreaker: { failures: 1.5 } },
      /circuitBreaker\.failures must be a positive integer; got 1\.5$/,
    ],
    [
      'circuitBreaker.failures Infinity',
      { circuitBreaker: { failures: Number.POSITIVE_INFINITY } },
      /circuitBreaker\.failures must be a positive integer; got Infinity$/,
    ],
    ['circuitBreaker.coolDown -1', { circuitBreaker: { coolDown: -1 } }, COOL_DOWN_RULE(/-1/)],
    [
      'circuitBreaker.coolDown Infinity',
      { circuitBreaker: { coolDown: Number.POSITIVE_INFINITY } },
      COOL_DOWN_RULE(/Infinity/),
    ],
    ['circuitBreaker.coolDown "1 second"', { circuitBreaker: { coolDown: '1 second' } }, COOL_DOWN_RULE(/"1 second"/)],
    [
      'circuitBreaker unknown key (a typo)',
      { circuitBreaker: { typo: 1 } },
      /unknown option 'typo' in circuitBreaker; known options: failures, coolDown$/,
    ],
    ['maxValueBytes 0', { maxValueBytes: 0 }, MAX_BYTES_RULE(/0/)],
    ['maxValueBytes -1', { maxValueBytes: -1 }, MAX_BYTES_RULE(/-1/)],
    ['maxValueBytes 1.5', { maxValueBytes: 1.5 }, MAX_BYTES_RULE(/1\.5/)],
    ['maxValueBytes NaN', { maxValueBytes: Number.NaN }, MAX_BYTES_RULE(/NaN/)],
    ['maxValueBytes "8mb"', { maxValueBytes: '8mb' }, MAX_BYTES_RULE(/"8mb"/)],
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

  test.each<[string, unknown, RegExp]>([
    ['timeout', { timeout: 0 }, /timeout must be a positive number of milliseconds/],
    ['circuitBreaker', { circuitBreaker: true }, /circuitBreaker must be false or an object/],
    ['circuitBreaker.failures', { circuitBreaker: { failures: 0 } }, /circuitBreaker\.failures must be/],
    ['circuitBreaker.coolDown', { circuitBreaker: { coolDown: -1 } }, /circuitBreaker\.coolDown must be/],
    ['circuitBreaker typo', { circuitBreaker: { failure: 3 } }, /unknown option 'failure' in circuitBreaker/],
    ['maxValueBytes', { maxValueBytes: '8mb' }, /maxValueBytes must be a positive integer/],
  ])('createMemoizer() and configure() validate %s too', (_label, options, message) => {
    expect(() => createMemoizer(options as never)).toThrow(TypeError);
    expect(() => createMemoizer(options as never)).toThrow(message);
    expect(() => createMemoizer().configure(options as never)).toThrow(message);
  });

  test('a rejected configure() changes nothing', async () => {
    const errors: string[] = [];
    const memo = createMemoizer({ store, maxValueBytes: 1000, onError: ({ error }) => errors.push(error.code) });
    expect(() => memo.configure({ maxValueBytes: 0 })).toThrow(/maxValueBytes/);
    const f = memo(async function notTooLarge() {
      return 'x'.repeat(100);
    });
    await f();
    expect(errors).toEqual([]);
    expect(await store.get(f.keyFor())).not.toBeNull();
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

  test.each<[string, Record<string, unknown>]>([
    ['timeout "2s"', { timeout: '2s' }],
    ['timeout "250ms"', { timeout: '250ms' }],
    ['timeout Infinity', { timeout: Number.POSITIVE_INFINITY }],
    ['timeout 100', { timeout: 100 }],
    ['timeout at the longest timer', { timeout: 2_147_483_647 }],
    ['circuitBreaker false', { circuitBreaker: false }],
    ['circuitBreaker {}', { circuitBreaker: {} }],
    ['circuitBreaker { failures: 3, coolDown: "500ms" }', { circuitBreaker: { failures: 3, coolDown: '500ms' } }],
    ['circuitBreaker { coolDown: 250 }', { circuitBreaker: { coolDown: 250 } }],
    ['maxValueBytes Infinity', { maxValueBytes: Number.POSITIVE_INFINITY }],
    ['maxValueBytes 1', { maxValueBytes: 1 }],
  ])('%s in memoize(), createMemoizer() and configure()', (_label, options) => {
    expect(memoizeWith({ ...options, name: `g${Math.random()}`.replace('.', '') })).not.toThrow();
    expect(() => createMemoizer({ store, ...options })).not.toThrow();
    expect(() => createMemoizer({ store }).configure(options)).not.toThrow();
  });
});

test('duration strings give exact milliseconds (no floating-point residue in messages or timer sharing)', () => {
  for (let n = 1; n <= 10_000; n++) expect(msOption(`${n}ms`, 'timeout', true)).toBe(n);
  expect(msOption('16.1s', 'timeout', true)).toBe(16_100);
  expect(msOption('0.5ms', 'timeout', true)).toBe(0.5);
});

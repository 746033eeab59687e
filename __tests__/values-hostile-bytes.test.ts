import fc from 'fast-check';
import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import type { ErrorEvent } from '../lib/options';
import { decode, encode, stamp } from '../lib/serializer';
import { connect, uniquePrefix } from './helpers/redis';

// Every kind of envelope the library writes, cut short anywhere, must decode as E_DECODE: a miss that
// is overwritten, never a different value. Bare numbers were the one body whose prefix is another
// valid body ('123' cut to '12').

/** Values of every type the envelope carries, top-level scalars included. */
const value = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(
      null,
      undefined,
      true,
      false,
      0,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ),
    fc.integer(),
    fc.double(),
    fc.bigInt(),
    fc.bigInt({ min: -(2n ** 2000n), max: 2n ** 2000n }),
    fc.string({ unit: 'binary' }),
    fc.date(),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    fc.float64Array({ maxLength: 3 }),
    fc.constantFrom(/a+b/giu, /x/),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 2 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 2 }).map((members) => new Set(members)),
  ),
})).value;

/** The envelopes the library writes for `v`: as encode() writes it, and timed by stamp(). */
function envelopes(v: unknown): string[] {
  const encoded = encode(v);
  return [encoded, stamp(encoded, { freshUntil: 1_800_000_000_000, computeMs: 12 })];
}

/** Every cut of `text` for short texts, else the first and last 64 and a spread of others. */
function cuts(text: string): number[] {
  if (text.length <= 400) return Array.from({ length: text.length }, (_, i) => i);
  const ends = Array.from({ length: 64 }, (_, i) => [i, text.length - 1 - i]).flat();
  const spread = Array.from({ length: 64 }, (_, i) => Math.floor((text.length * i) / 64));
  return [...new Set([...ends, ...spread])];
}

function expectDecodeError(text: string): void {
  let decoded: ReturnType<typeof decode> | undefined;
  expect(() => {
    decoded = decode(text);
  }).not.toThrow();
  expect(decoded?.ok).toBe(false);
  if (decoded?.ok === false) expect(decoded.error.code).toBe('E_DECODE');
}

describe('hostile bytes: a truncated envelope never decodes', () => {
  test('the issue case: a top-level number envelope cut short', () => {
    expect(encode(123)).toBe('cm1J123\n');
    expectDecodeError('cm1J12');
    expectDecodeError('cm1J123');
    expect(decode('cm1J123\n')).toEqual({ ok: true, value: 123 });
    expectDecodeError(stamp(encode(123), { freshUntil: 1, computeMs: 2 }).slice(0, -1));
  });

  test('an envelope of an earlier version holding a bare number is a miss (it cannot be told from a cut one)', () => {
    expectDecodeError('cm1J42');
    expectDecodeError('cm1X1,2:cm1J42');
    // Earlier envelopes of every other value still decode: their truncations never parsed.
    expect(decode('cm1J{"a":[1,"x"]}')).toEqual({ ok: true, value: { a: [1, 'x'] } });
    expect(decode('cm1T{"$":["D",5]}')).toEqual({ ok: true, value: new Date(5) });
  });

  test.each<[string, unknown]>([
    ['plain object', { id: 7, title: 'real', tags: ['a', 'b'] }],
    ['plain string', 'hello'],
    ['plain true', true],
    ['plain false', false],
    ['plain null', null],
    ['plain number', -12.5e-7],
    ['plain array', [1, 2, 3]],
    ['tagged undefined', undefined],
    ['tagged NaN', Number.NaN],
    ['tagged -0', -0],
    ['tagged BigInt', 12345678901234567890n],
    ['tagged large BigInt (hex)', -(7n ** 700n)],
    ['tagged Date', new Date(1_700_000_000_000)],
    ['tagged Map', new Map([[1, { a: 1 }]])],
    ['tagged Set', new Set(['x'])],
    ['tagged Buffer', Buffer.from('bytes')],
    ['tagged typed array', new Float32Array([1.5, 2])],
    ['tagged RegExp', /a(b)c/gu],
    ['tagged null-prototype object', Object.assign(Object.create(null), { a: 1 })],
    ['tagged object with a "$" key', { $: ['u'] }],
  ])('%s: every cut of its plain or tagged envelope, and of its timed one', (_label, v) => {
    for (const text of envelopes(v)) {
      expect(decode(text).ok).toBe(true);
      for (const cut of cuts(text)) expectDecodeError(text.slice(0, cut));
    }
  });

  test('property: every cut of every envelope is E_DECODE, by UTF-16 unit', () => {
    fc.assert(
      fc.property(value, (v) => {
        for (const text of envelopes(v)) {
          for (const cut of cuts(text)) expectDecodeError(text.slice(0, cut));
        }
      }),
      { numRuns: 200 },
    );
  });

  test('property: every cut of every envelope is E_DECODE, by UTF-8 byte (as Redis could return it)', () => {
    fc.assert(
      fc.property(value, (v) => {
        for (const text of envelopes(v)) {
          const bytes = Buffer.from(text);
          for (const cut of cuts(bytes.toString('latin1'))) expectDecodeError(bytes.subarray(0, cut).toString());
        }
      }),
      { numRuns: 120 },
    );
  });
});

describe('hostile bytes: a truncated envelope in Redis is a miss, reported and overwritten', () => {
  let client: RedisClientType;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => {
    await client.quit();
  });

  test.each<[string, unknown, boolean]>([
    ['a number', 123, false],
    ['a plain object', { id: 1, title: 'real' }, false],
    ['a tagged value', { at: new Date(5), n: 10n }, false],
    ['a timed number', 123, true],
  ])('%s', async (_label, result, timed) => {
    const errors: ErrorEvent[] = [];
    let runs = 0;
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('cut') });
    const f = memoize(
      async function cut(_id: number) {
        runs++;
        return result;
      },
      { onError: (e) => errors.push(e), ...(timed ? { ttl: '10s', staleTtl: '5s' } : {}) },
    );
    const full = timed ? stamp(encode(result), { freshUntil: Date.now() + 10_000, computeMs: 1 }) : encode(result);
    await client.set(f.keyFor(1), full.slice(0, -1));

    expect(await f(1)).toEqual(result);
    expect(runs).toBe(1);
    expect(errors.map((e) => e.error.code)).toEqual(['E_DECODE']);
    const stored = String(await client.get(f.keyFor(1)));
    expect(decode(stored)).toMatchObject({ ok: true, value: result });
    expect(await f(1)).toEqual(result);
    expect(runs).toBe(1);
  });
});

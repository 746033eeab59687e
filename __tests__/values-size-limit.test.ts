import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { SerializationError } from '../lib/errors';
import { encode } from '../lib/serializer';

// encode(value, maxBytes) stops as soon as its output passes maxBytes, so refusing a huge result costs
// time and memory in proportion to maxBytes, not to the result. The limits here are generous: they
// catch encoding the whole result (seconds, gigabytes), not small regressions; bench:hostile measures.

const MiB = 1024 * 1024;

function refusal(run: () => unknown): SerializationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
    return error as SerializationError;
  }
  throw new Error('expected a refusal');
}

/** Milliseconds and growth of the process's peak RSS (MiB) while `run` refuses as E_TOO_LARGE. */
function measureRefusal(run: () => unknown): { ms: number; peakGrowthMiB: number; error: SerializationError } {
  const peakBefore = process.resourceUsage().maxRSS;
  const started = performance.now();
  const error = refusal(run);
  const ms = performance.now() - started;
  const peakGrowthMiB = (process.resourceUsage().maxRSS - peakBefore) / 1024;
  return { ms, peakGrowthMiB, error };
}

describe('maxBytes: a huge result is refused before it is encoded whole', () => {
  test.each<[string, () => unknown]>([
    ['a sparse array of 10 million holes', () => new Array(1e7)],
    ['a million NaN', () => new Array(1e6).fill(Number.NaN)],
    ['300,000 objects with an undefined field', () => Array.from({ length: 3e5 }, (_, i) => ({ i, gone: undefined }))],
    ['10 million zeros (plain JSON)', () => new Array(1e7).fill(0)],
    ['a 128 Mbit BigInt', () => 2n ** 134_217_728n - 1n],
    ['a Map of a million entries', () => new Map(Array.from({ length: 1e6 }, (_, i) => [i, i]))],
  ])('%s, under a 1 MiB limit', (_label, make) => {
    const value = make();
    const { ms, peakGrowthMiB, error } = measureRefusal(() => encode(value, MiB));
    expect(error.code).toBe('E_TOO_LARGE');
    expect(error.message).toMatch(
      /^cache-memoize: the result is (at least )?\d+ bytes encoded, over maxValueBytes \(1048576\); it was returned, not stored$/,
    );
    expect(ms).toBeLessThan(2000);
    expect(peakGrowthMiB).toBeLessThan(200);
  });

  test('a large Buffer is refused before its base64 text is built', () => {
    const bytes = Buffer.alloc(256 * MiB, 1);
    const { ms, peakGrowthMiB, error } = measureRefusal(() => encode({ bytes }, MiB));
    expect(error.code).toBe('E_TOO_LARGE');
    expect(ms).toBeLessThan(1000);
    expect(peakGrowthMiB).toBeLessThan(200);
  });

  test('the message names the subject it is given, and the exact size when it is known', () => {
    expect(refusal(() => encode('x'.repeat(100), 50, 'the result of getUser')).message).toBe(
      'cache-memoize: the result of getUser is at least 106 bytes encoded, over maxValueBytes (50); it was returned, not stored',
    );
    // 10 three-byte characters: 16 UTF-16 units fit a 20-byte limit, the 36 bytes do not.
    expect(refusal(() => encode('€'.repeat(10), 20)).message).toMatch(/^cache-memoize: the result is 36 bytes encoded/);
    expect(encode('x', 7)).toBe('cm1J"x"');
  });
});

describe('maxBytes: the limit is exact, in UTF-8 bytes of the whole envelope', () => {
  const value = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(null, undefined, true, Number.NaN, -0),
      fc.double(),
      fc.bigInt({ min: -(2n ** 1200n), max: 2n ** 1200n }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme' }),
      fc.date(),
      fc.uint8Array({ maxLength: 10 }).map((b) => Buffer.from(b)),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 4 }), tie('value'), { maxKeys: 4 }),
      fc.array(tie('value'), { maxLength: 3 }).map((members) => new Set(members)),
    ),
  })).value;

  test('property: encode(v, max) is encode(v) when that fits in max bytes, else E_TOO_LARGE', () => {
    fc.assert(
      fc.property(value, fc.integer({ min: -3, max: 3 }), fc.nat({ max: 2000 }), (v, near, far) => {
        const whole = encode(v);
        const bytes = Buffer.byteLength(whole);
        for (const max of [bytes + near, far, bytes * 26 + near]) {
          if (bytes <= max) {
            expect(encode(v, max)).toBe(whole);
          } else {
            const error = refusal(() => encode(v, max));
            expect(error.code).toBe('E_TOO_LARGE');
            const [, atLeast, shown] = /is (at least )?(\d+) bytes/.exec(error.message) ?? [];
            expect(Number(shown)).toBeGreaterThan(max);
            expect(Number(shown)).toBeLessThanOrEqual(bytes);
            if (atLeast === undefined) expect(Number(shown)).toBe(bytes);
          }
        }
      }),
      { numRuns: 1500 },
    );
  });
});

import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { decode, encode } from '../lib/serializer';

// Every hit decodes what is stored, so what is stored must not be able to block the event loop: each
// decode step is linear in the stored bytes, and decoding costs at most a small constant times
// JSON.parse of the same bytes. The bounds here are generous; bench:hostile measures the ratios.

const MiB = 1024 * 1024;

/** Median milliseconds of `run` over a few runs. */
function timed(run: () => unknown, runs = 3): number {
  const times = Array.from({ length: runs }, () => {
    const started = performance.now();
    run();
    return performance.now() - started;
  });
  return times.sort((a, b) => a - b)[runs >> 1] as number;
}

/** Decoding `text` takes at most `factor` times JSON.parse of the same body (and at most a floor). */
function expectLinearDecode(text: string, factor = 25, floorMs = 100): ReturnType<typeof decode> {
  const body = text.slice(4);
  const parseMs = timed(() => JSON.parse(body));
  let decoded: ReturnType<typeof decode> | undefined;
  const decodeMs = timed(() => {
    decoded = decode(text);
  });
  expect(decodeMs).toBeLessThan(Math.max(factor * parseMs, floorMs));
  return decoded as ReturnType<typeof decode>;
}

describe('decode bounds: a stored BigInt cannot make hits slow', () => {
  test('the issue case: an 8 MiB decimal BigInt (an earlier version wrote them) is E_DECODE, at JSON.parse speed', () => {
    const text = `cm1T{"$":["b","${'7'.repeat(8 * MiB - 20)}"]}`;
    const decoded = expectLinearDecode(text);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe('E_DECODE');
  });

  test('a huge BigInt is written in hex, and reads back in linear time', () => {
    const big = -(3n ** 5_000_000n);
    const text = encode(big);
    expect(text.startsWith('cm1T{"$":["b","-0x')).toBe(true);
    expect(text.length).toBeGreaterThan(MiB);
    const decoded = expectLinearDecode(text);
    expect(decoded).toEqual({ ok: true, value: big });
  });

  test('decimal BigInts decode up to 1024 digits; longer ones are E_DECODE', () => {
    const longest = `-${'9'.repeat(1024)}`;
    expect(decode(`cm1T{"$":["b","${longest}"]}`)).toEqual({ ok: true, value: BigInt(longest) });
    expect(decode(`cm1T{"$":["b","${'9'.repeat(1025)}"]}`).ok).toBe(false);
  });

  test.each<[string, string]>([
    ['leading zeros', '007'],
    ['empty', ''],
    ['a sign only', '-'],
    ['whitespace', ' 7'],
    ['an exponent', '1e5'],
    ['octal', '0o7'],
    ['binary', '0b1'],
    ['hex with no digits', '0x'],
    ['hex with a bad digit', '0x1g'],
    ['hex with a sign inside', '0x-1'],
  ])('a malformed BigInt (%s) is E_DECODE', (_label, digits) => {
    const decoded = decode(`cm1T{"$":["b",${JSON.stringify(digits)}]}`);
    expect(decoded.ok).toBe(false);
  });

  test('property: every BigInt round-trips, small ones in decimal (every version reads them)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt(), fc.bigInt({ min: -(2n ** 5000n), max: 2n ** 5000n })), (n) => {
        const text = encode(n);
        const digits = /"b","([^"]*)"/.exec(text)?.[1] as string;
        expect(digits.includes('0x')).toBe((n < 0n ? -n : n) >= 2n ** 1024n);
        expect(decode(text)).toEqual({ ok: true, value: n });
      }),
      { numRuns: 500 },
    );
  });
});

describe('decode bounds: every other tag decodes in linear time', () => {
  // Large enough that a step quadratic in its input would take seconds.
  test.each<[string, () => unknown]>([
    ['a Map of 30,000 entries', () => new Map(Array.from({ length: 3e4 }, (_, i) => [i, `v${i}`]))],
    ['a Set of 30,000 members', () => new Set(Array.from({ length: 3e4 }, (_, i) => i))],
    ['4 MiB of Buffer', () => Buffer.alloc(4 * MiB, 7)],
    ['4 MiB of Float64Array', () => new Float64Array(MiB / 2).fill(1.5)],
    ['a 1 MiB RegExp source', () => new RegExp(`(?:a|b)${'x'.repeat(MiB)}`, 'g')],
    ['30,000 Dates', () => Array.from({ length: 3e4 }, (_, i) => new Date(i))],
    ['30,000 undefined', () => new Array(3e4).fill(undefined)],
    [
      '30,000 null-prototype objects',
      () => Array.from({ length: 3e4 }, (_, i) => Object.assign(Object.create(null), { i })),
    ],
  ])('%s', (_label, make) => {
    const value = make();
    const decoded = expectLinearDecode(encode(value));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(decoded.value).toStrictEqual(value);
  });

  test('stored JSON nested far deeper than any value is E_DECODE, not a thrown RangeError', () => {
    const depth = 200_000;
    const decoded = decode(`cm1T${'['.repeat(depth)}{"$":["u"]}${']'.repeat(depth)}`);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe('E_DECODE');
  });
});

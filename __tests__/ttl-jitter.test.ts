import type { RedisClientType } from 'redis';
import { jitteredTtlMs } from '../lib/engine/ttl-jitter';
import { readStamp } from '../lib/envelope/format';
import { createMemoizer } from '../lib/memoizer';
import { connect, uniquePrefix } from './helpers/redis';

// ttlJitter: each write's ttl is ttl × (1 − jitter × r), r uniform in [0, 1). Checked on the PTTLs
// Redis reports for entries written together. With ttl 1000 s and jitter 0.5, they must spread
// uniformly over (500 s, 1000 s]: 200 entries, 5 bins of 100 s, about 40 per bin (sd 5.7). Each
// bound below is over 4.4 sd away from what a correct implementation gives, so a false failure has
// a probability under 1e-4 in all; without jitter every entry lands in the top bin and the checks fail.

const ENTRIES = 200;
const TTL_S = 1000;

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

/** Writes ENTRIES entries at once; their PTTLs (ms) as Redis reports them, and their keys. */
async function writeTogether(options: Record<string, unknown>, memoizerOptions: Record<string, unknown> = {}) {
  // 200 misses at once: a generous deadline, so that a loaded machine does not leave entries unwritten.
  const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('jitter'), timeout: '20s', ...memoizerOptions });
  const f = memoize(async function spread(i: number) {
    return i;
  }, options);
  const ids = Array.from({ length: ENTRIES }, (_, i) => i);
  await Promise.all(ids.map((i) => f(i)));
  const keys = ids.map((i) => f.keyFor(i));
  const pttls = await Promise.all(keys.map((k) => client.pTTL(k)));
  return { keys, pttls };
}

describe('ttlJitter', () => {
  test('PTTLs of entries written together spread uniformly over (ttl × (1 − jitter), ttl]', async () => {
    const { pttls } = await writeTogether({ ttl: TTL_S, ttlJitter: 0.5 });
    for (const pttl of pttls) {
      expect(pttl).toBeGreaterThan(TTL_S * 500 - 5_000);
      expect(pttl).toBeLessThanOrEqual(TTL_S * 1000);
    }
    const bins = [0, 0, 0, 0, 0];
    for (const pttl of pttls) bins[Math.min(4, Math.max(0, Math.floor((pttl - 500_000) / 100_000)))]! += 1;
    for (const count of bins) {
      expect(count).toBeGreaterThanOrEqual(15);
      expect(count).toBeLessThanOrEqual(65);
    }
    // Mean 750 s, sd of the mean 144 s / √200 ≈ 10 s.
    const mean = pttls.reduce((a, b) => a + b, 0) / ENTRIES;
    expect(Math.abs(mean - 750_000)).toBeLessThan(45_000);
  });

  test('a memoizer default applies to its functions; 0 leaves every ttl whole', async () => {
    const jittered = await writeTogether({ ttl: TTL_S }, { ttlJitter: 0.5 });
    expect(Math.min(...jittered.pttls)).toBeLessThan(600_000);
    const whole = await writeTogether({ ttl: TTL_S, ttlJitter: 0 }, { ttlJitter: 0.5 });
    expect(Math.min(...whole.pttls)).toBeGreaterThan(TTL_S * 1000 - 10_000);
  });

  test('the stale window keeps its length and starts at the shortened ttl', async () => {
    const before = Date.now();
    const { keys, pttls } = await writeTogether({ ttl: TTL_S, ttlJitter: 0.5, staleTtl: 100 });
    const stored = await Promise.all(keys.map((k) => client.get(k)));
    const after = Date.now();
    let spread = 0;
    stored.forEach((text, i) => {
      const freshUntil = readStamp(text as string)?.freshUntil as number;
      // The fresh part is jittered...
      expect(freshUntil - before).toBeGreaterThan(TTL_S * 500 - 5_000);
      expect(freshUntil - after).toBeLessThanOrEqual(TTL_S * 1000);
      // ...and the entry lives exactly staleTtl longer (Redis's clock and ours, within the test's run).
      const staleMs = after + (pttls[i] as number) - freshUntil;
      expect(staleMs).toBeGreaterThan(100_000 - 5_000);
      expect(staleMs).toBeLessThanOrEqual(100_000 + (after - before) + 5);
      spread = Math.max(spread, TTL_S * 1000 - (freshUntil - before));
    });
    expect(spread).toBeGreaterThan(400_000);
  });

  test('cached errors are jittered too, within errorTtl', async () => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('jitter-errors'), timeout: '20s' });
    const f = memoize(
      async function fails(i: number): Promise<never> {
        throw new Error(`no ${i}`);
      },
      { cacheErrors: () => true, errorTtl: TTL_S, ttlJitter: 0.5 },
    );
    const ids = Array.from({ length: ENTRIES }, (_, i) => i);
    await Promise.all(ids.map((i) => f(i).catch(() => {})));
    const pttls = await Promise.all(ids.map((i) => client.pTTL(f.keyFor(i))));
    expect(Math.max(...pttls)).toBeLessThanOrEqual(TTL_S * 1000);
    expect(Math.min(...pttls)).toBeGreaterThan(TTL_S * 500 - 5_000);
    expect(Math.min(...pttls)).toBeLessThan(600_000);
    expect(Math.max(...pttls)).toBeGreaterThan(900_000);
  });

  test('with ttl Infinity nothing expires, jitter or not', async () => {
    const { pttls } = await writeTogether({ ttl: Number.POSITIVE_INFINITY, ttlJitter: 0.5 });
    expect(new Set(pttls)).toEqual(new Set([-1]));
  });

  test('the formula: ttl × (1 − jitter × r), at least 1 ms', () => {
    expect(jitteredTtlMs(1000, 0.2, () => 0)).toBe(1000);
    expect(jitteredTtlMs(1000, 0.2, () => 0.5)).toBe(900);
    expect(jitteredTtlMs(1000, 1, () => 0.9999999)).toBe(1);
  });

  test.each<[string, unknown, RegExp]>([
    ['above 1', 1.5, /ttlJitter must be a number from 0 to 1; got 1\.5$/],
    ['negative', -0.1, /ttlJitter must be a number from 0 to 1; got -0\.1$/],
    ['NaN', Number.NaN, /ttlJitter must be a number from 0 to 1; got NaN$/],
    ['a percentage string', '10%', /ttlJitter must be a number from 0 to 1; got "10%"$/],
  ])('a ttlJitter %s is a TypeError naming it', (_label, ttlJitter, message) => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('jitter-bad') });
    expect(() => memoize(async function f() {}, { ttlJitter: ttlJitter as number })).toThrow(message);
    expect(() => createMemoizer({ ttlJitter: ttlJitter as number })).toThrow(message);
  });
});

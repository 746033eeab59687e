import type { RedisClientType } from 'redis';
import { tokenKeyOf } from '../lib/key';
import { createMemoizer } from '../lib/memoizer';
import { connect, sleep, uniquePrefix } from './helpers/redis';

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

describe('ttl', () => {
  test.each<[string, number | string, number]>([
    ['seconds', 3600, 3_600_000],
    ['duration string', '5m', 300_000],
    ['fractional seconds', 1.5, 1_500],
  ])('PTTL of a fresh entry is within the requested ttl (%s)', async (_label, ttl, ms) => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('ttl') });
    const f = memoize(async function timed() {
      return 1;
    }, ttl as number);
    await f();
    const pttl = await client.pTTL(f.keyFor());
    expect(pttl).toBeGreaterThan(ms - 1000);
    expect(pttl).toBeLessThanOrEqual(ms);
  });

  test('the default ttl is 300 s', async () => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('ttl-default') });
    const f = memoize(async function byDefault() {
      return 1;
    });
    await f();
    expect(await client.pTTL(f.keyFor())).toBeGreaterThan(299_000);
  });

  test('Infinity stores without expiry', async () => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('ttl-inf') });
    const f = memoize(async function forever() {
      return 1;
    }, Number.POSITIVE_INFINITY);
    await f();
    expect(await client.pTTL(f.keyFor())).toBe(-1);
    expect(await client.pTTL(tokenKeyOf(f.keyFor()))).toBe(-1);
  });

  test('an entry really expires', async () => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('ttl-real') });
    let runs = 0;
    const f = memoize(async function shortLived() {
      return ++runs;
    }, '200ms');
    expect(await f()).toBe(1);
    expect(await f()).toBe(1);
    await sleep(300);
    expect(await client.exists(f.keyFor())).toBe(0);
    expect(await f()).toBe(2);
  });
});

import slotOf from 'cluster-key-slot';
import type { RedisClientType } from 'redis';
import { tokenKeyOf } from '../lib/key';
import { MemoryStore } from '../lib/stores/memory';
import { RedisStore } from '../lib/stores/redis/store';
import { storeContract } from '../lib/testing';
import { connect, uniquePrefix } from './helpers/redis';

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

// The exported contract (cache-memoize/testing), run against every store: memoize() relies on
// exactly these semantics.
storeContract('RedisStore contract', () => new RedisStore(client), { dispose: (store) => store.close?.() });
storeContract('MemoryStore contract', () => new MemoryStore());

describe('RedisStore on the server', () => {
  test('value and token share one hash tag, and the token outlives the value', async () => {
    const store = new RedisStore(client);
    const keyPrefix = uniquePrefix('raw');
    const key = `${keyPrefix}:fn:{abc}`;
    const { token } = await store.begin({ key, tokenTtlMs: 600_000 });
    await store.set({ key, token: token!, value: 'v', ttlMs: 5_000, tokenTtlMs: 600_000 });
    expect((await client.keys(`${keyPrefix}*{abc}*`)).sort()).toEqual([key, tokenKeyOf(key)].sort());
    // The token lives outside the tracked `keyPrefix:`, with the value's hash tag.
    expect(tokenKeyOf(key)).toBe(`${keyPrefix}#:fn:{abc}:g`);
    expect(slotOf(tokenKeyOf(key))).toBe(slotOf(key));
    expect(await client.pTTL(key)).toBeGreaterThan(4_000);
    expect(await client.pTTL(key)).toBeLessThanOrEqual(5_000);
    expect(await client.pTTL(tokenKeyOf(key))).toBeGreaterThan(500_000);
  });

  test('works after SCRIPT FLUSH (falls back from EVALSHA to EVAL)', async () => {
    const store = new RedisStore(client);
    const key = `${uniquePrefix('flush')}:fn:{abc}`;
    await client.scriptFlush();
    const { token } = await store.begin({ key, tokenTtlMs: 60_000 });
    expect(token).toEqual(expect.any(String));
  });

  test('rejects what is not a client', () => {
    expect(() => new RedisStore({} as never)).toThrow(TypeError);
  });
});

describe('MemoryStore specifics', () => {
  test('an injected clock drives expiry', async () => {
    let now = 1_000;
    const store = new MemoryStore({ now: () => now });
    const { token } = await store.begin({ key: 'p:f:{k}', tokenTtlMs: 10_000 });
    await store.set({ key: 'p:f:{k}', token: token!, value: 'v', ttlMs: 500, tokenTtlMs: 10_000 });
    expect(store.pttl('p:f:{k}')).toBe(500);
    now += 499;
    expect(await store.get('p:f:{k}')).toBe('v');
    now += 1;
    expect(await store.get('p:f:{k}')).toBeNull();
  });

  test('maxKeys bounds memory, evicting the least recently used', async () => {
    const store = new MemoryStore({ maxKeys: 10 });
    for (let i = 0; i < 20; i++) {
      const { token } = await store.begin({ key: `p:f:{${i}}`, tokenTtlMs: 60_000 });
      await store.set({ key: `p:f:{${i}}`, token: token!, value: String(i), ttlMs: 60_000, tokenTtlMs: 60_000 });
    }
    expect(store.size).toBeLessThanOrEqual(10);
    expect(await store.get('p:f:{19}')).toBe('19');
    expect(await store.get('p:f:{0}')).toBeNull();
  });

  test('bad options are TypeErrors', () => {
    expect(() => new MemoryStore({ maxKeys: 0 })).toThrow(/maxKeys must be an integer of at least 2/);
    expect(() => new MemoryStore({ now: 5 as never })).toThrow(/now must be a function/);
  });
});

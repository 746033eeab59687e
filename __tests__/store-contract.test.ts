import type { RedisClientType } from 'redis';
import { tokenKeyOf } from '../lib/key';
import { MemoryStore } from '../lib/stores/memory';
import { RedisStore } from '../lib/stores/redis';
import type { Store } from '../lib/stores/store';
import { connect, sleep, uniquePrefix } from './helpers/redis';

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

// The same contract, run against every store: memoize() relies on exactly these semantics.
describe.each<[string, () => Store]>([
  ['RedisStore', () => new RedisStore(client)],
  ['MemoryStore', () => new MemoryStore()],
])('%s contract', (_name, makeStore) => {
  let store: Store;
  let prefix: string;
  let key: string;
  beforeEach(() => {
    store = makeStore();
    prefix = uniquePrefix('contract') + ':fn:';
    key = `${prefix}{digest}`;
  });

  test('get of an absent entry is undefined', async () => {
    expect(await store.get(key)).toBeNull();
  });

  test('begin creates one token and hands the same one to every caller', async () => {
    const a = await store.begin(key, 60_000);
    const b = await store.begin(key, 60_000);
    expect(a.token).toEqual(expect.any(String));
    expect(b.token).toBe(a.token);
  });

  test('set with the current token writes; begin then returns the value', async () => {
    const { token } = await store.begin(key, 60_000);
    expect(await store.set(key, token!, 'v1', 60_000, 60_000)).toBe(true);
    expect(await store.get(key)).toBe('v1');
    expect(await store.begin(key, 60_000)).toEqual({ value: 'v1' });
  });

  test('set with a wrong or missing token writes nothing', async () => {
    expect(await store.set(key, 'no-such-token', 'v', 60_000, 60_000)).toBe(false);
    await store.begin(key, 60_000);
    expect(await store.set(key, 'wrong', 'v', 60_000, 60_000)).toBe(false);
    expect(await store.get(key)).toBeNull();
  });

  test('delete removes the value and the token: an older computation can no longer write', async () => {
    const { token } = await store.begin(key, 60_000);
    await store.set(key, token!, 'v1', 60_000, 60_000);
    await store.delete(key);
    expect(await store.get(key)).toBeNull();
    expect(await store.set(key, token!, 'stale', 60_000, 60_000)).toBe(false);
    const next = await store.begin(key, 60_000);
    expect(next.token).not.toBe(token);
  });

  test('rotate deletes the value and replaces the token', async () => {
    const { token: old } = await store.begin(key, 60_000);
    await store.set(key, old!, 'v1', 60_000, 60_000);
    const fresh = await store.rotate(key, 60_000);
    expect(fresh).not.toBe(old);
    expect(await store.get(key)).toBeNull();
    expect(await store.set(key, old!, 'stale', 60_000, 60_000)).toBe(false);
    expect(await store.set(key, fresh, 'v2', 60_000, 60_000)).toBe(true);
    expect(await store.get(key)).toBe('v2');
  });

  test('values expire after their ttl', async () => {
    const { token } = await store.begin(key, 60_000);
    await store.set(key, token!, 'short', 80, 60_000);
    expect(await store.get(key)).toBe('short');
    await sleep(150);
    expect(await store.get(key)).toBeNull();
  });

  test('an expired token refuses the write', async () => {
    const { token } = await store.begin(key, 50);
    await sleep(120);
    expect(await store.set(key, token!, 'late', 60_000, 60_000)).toBe(false);
  });

  test('Infinity means no expiry', async () => {
    const { token } = await store.begin(key, Number.POSITIVE_INFINITY);
    await store.set(key, token!, 'forever', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
    await sleep(20);
    expect(await store.get(key)).toBe('forever');
  });

  test('deleteMatching removes every entry under the prefix and nothing else', async () => {
    const other = `${uniquePrefix('other')}:fn:{x}`;
    const keys = Array.from({ length: 25 }, (_, i) => `${prefix}{d${i}}`);
    for (const k of [...keys, other]) {
      const { token } = await store.begin(k, 60_000);
      await store.set(k, token!, 'v', 60_000, 60_000);
    }
    const removed = await store.deleteMatching(prefix);
    expect(removed).toBe(50); // 25 values + 25 tokens
    for (const k of keys) expect(await store.get(k)).toBeNull();
    expect(await store.get(other)).toBe('v');
  });

  test('deleteMatching treats glob characters in the prefix literally', async () => {
    const literal = `${uniquePrefix('glob')}*?[a]:fn:`;
    const lookalike = literal.replace('*?[a]', 'xx');
    for (const k of [`${literal}{1}`, `${lookalike}{1}`]) {
      const { token } = await store.begin(k, 60_000);
      await store.set(k, token!, 'v', 60_000, 60_000);
    }
    await store.deleteMatching(literal);
    expect(await store.get(`${literal}{1}`)).toBeNull();
    expect(await store.get(`${lookalike}{1}`)).toBe('v');
  });
});

describe('RedisStore on the server', () => {
  test('value and token share one hash tag, and the token outlives the value', async () => {
    const store = new RedisStore(client);
    const key = `${uniquePrefix('raw')}:fn:{abc}`;
    const { token } = await store.begin(key, 600_000);
    await store.set(key, token!, 'v', 5_000, 600_000);
    expect((await client.keys(`${key}*`)).sort()).toEqual([key, tokenKeyOf(key)]);
    expect(await client.pTTL(key)).toBeGreaterThan(4_000);
    expect(await client.pTTL(key)).toBeLessThanOrEqual(5_000);
    expect(await client.pTTL(tokenKeyOf(key))).toBeGreaterThan(500_000);
  });

  test('works after SCRIPT FLUSH (falls back from EVALSHA to EVAL)', async () => {
    const store = new RedisStore(client);
    const key = `${uniquePrefix('flush')}:fn:{abc}`;
    await client.scriptFlush();
    const { token } = await store.begin(key, 60_000);
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
    const { token } = await store.begin('p:f:{k}', 10_000);
    await store.set('p:f:{k}', token!, 'v', 500, 10_000);
    expect(store.pttl('p:f:{k}')).toBe(500);
    now += 499;
    expect(await store.get('p:f:{k}')).toBe('v');
    now += 1;
    expect(await store.get('p:f:{k}')).toBeNull();
  });

  test('maxKeys bounds memory, evicting the least recently used', async () => {
    const store = new MemoryStore({ maxKeys: 10 });
    for (let i = 0; i < 20; i++) {
      const { token } = await store.begin(`p:f:{${i}}`, 60_000);
      await store.set(`p:f:{${i}}`, token!, String(i), 60_000, 60_000);
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

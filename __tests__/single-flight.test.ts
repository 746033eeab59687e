import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { connect, deferred, sleep, uniquePrefix } from './helpers/redis';
import { CountingStore } from './helpers/stores';

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

describe('single-flight in one process', () => {
  test('N concurrent calls with one key run fn once and share one Redis read', async () => {
    const store = new CountingStore(new RedisStore(client));
    const memoize = createMemoizer({ store, keyPrefix: uniquePrefix('flight') });
    let runs = 0;
    const f = memoize(async function slow(id: number) {
      runs++;
      await sleep(50);
      return { id };
    });
    const results = await Promise.all(Array.from({ length: 100 }, () => f(7)));
    expect(runs).toBe(1);
    expect(new Set(results).size).toBe(1); // the very same object: one computation
    expect(store.calls).toMatchObject({ get: 1, begin: 1, set: 1 });
  });

  test('concurrent hits share one read too', async () => {
    const store = new CountingStore(new RedisStore(client));
    const memoize = createMemoizer({ store, keyPrefix: uniquePrefix('flight-hit') });
    const f = memoize(async function cached() {
      return 'v';
    });
    await f();
    store.calls.get = 0;
    await Promise.all(Array.from({ length: 50 }, () => f()));
    expect(store.calls.get).toBe(1);
  });

  test('different keys do not wait for each other', async () => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('flight-keys') });
    const gate = deferred<void>();
    const f = memoize(async function gated(id: number) {
      if (id === 1) await gate.promise;
      return id;
    });
    const blocked = f(1);
    expect(await f(2)).toBe(2);
    gate.resolve();
    expect(await blocked).toBe(1);
  });

  test('a rejection is shared by the callers in flight, then forgotten', async () => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('flight-err') });
    let runs = 0;
    const f = memoize(async function failsOnce() {
      runs++;
      await sleep(10);
      if (runs === 1) throw new Error('first');
      return 'second';
    });
    const all = await Promise.allSettled([f(), f(), f()]);
    expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await f()).toBe('second');
    expect(runs).toBe(2);
  });
});

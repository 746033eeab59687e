import type { RedisClientType } from 'redis';
import { MemoizeError } from '../lib/errors';
import { createMemoizer } from '../lib/memoizer';
import type { CallEvent, ErrorEvent } from '../lib/options';
import { MemoryStore } from '../lib/stores/memory';
import type { Store } from '../lib/stores/store';
import { connect, uniquePrefix } from './helpers/redis';
import { bothStores } from './helpers/stores';

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

describe.each(bothStores(() => client))('memoize over %s', (_name, makeStore) => {
  let store: Store;
  let memoize: ReturnType<typeof createMemoizer>;
  beforeEach(() => {
    store = makeStore();
    memoize = createMemoizer({ store, keyPrefix: uniquePrefix('memo') });
  });

  test('a second call with equal arguments is a hit', async () => {
    let runs = 0;
    const f = memoize(async function double(n: number) {
      runs++;
      return { n: n * 2 };
    });
    expect(await f(21)).toEqual({ n: 42 });
    expect(await f(21)).toEqual({ n: 42 });
    expect(await f(22)).toEqual({ n: 44 });
    expect(runs).toBe(2);
  });

  test.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
  ])('a cached %s is a hit, not a miss', async (_label, result) => {
    let runs = 0;
    const hits: CallEvent[] = [];
    const f = memoize(
      async function nothing() {
        runs++;
        return result;
      },
      { onHit: (e) => hits.push(e) },
    );
    expect(await f()).toBe(result);
    expect(await f()).toBe(result);
    expect(runs).toBe(1);
    expect(hits).toHaveLength(1);
  });

  test('rich results come back as the same types', async () => {
    const value = { when: new Date(5), tags: new Set(['a']), big: 2n ** 70n, raw: Buffer.from('x'), nan: Number.NaN };
    const f = memoize(async function rich() {
      return value;
    });
    await f();
    expect(await f()).toStrictEqual(value);
  });

  test('a sync function works and its throw becomes a rejection', async () => {
    const f = memoize(function syncFn(n: number) {
      if (n < 0) throw new RangeError('negative');
      return n + 1;
    });
    await expect(f(1)).resolves.toBe(2);
    await expect(f(-1)).rejects.toThrow(RangeError);
  });

  test('errors are not cached: the caller gets the same error and the next call runs again', async () => {
    let runs = 0;
    const boom = new Error('boom');
    const f = memoize(async function flaky() {
      runs++;
      if (runs === 1) throw boom;
      return 'ok';
    });
    await expect(f()).rejects.toBe(boom);
    expect(await store.get(f.keyFor())).toBeNull();
    expect(await f()).toBe('ok');
    expect(runs).toBe(2);
  });

  test('a result that cannot round-trip is returned unchanged, not stored, and reported', async () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    const errors: ErrorEvent[] = [];
    let runs = 0;
    const f = memoize(
      async function price() {
        runs++;
        return new Money(5);
      },
      { onError: (e) => errors.push(e) },
    );
    const first = await f();
    expect(first).toBeInstanceOf(Money);
    expect(await f()).toBeInstanceOf(Money);
    expect(runs).toBe(2);
    expect(await store.get(f.keyFor())).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_UNSERIALIZABLE', 'E_UNSERIALIZABLE']);
    expect(errors[0]!.error).toBeInstanceOf(MemoizeError);
  });

  test('shouldCache decides what is stored; the result is returned either way', async () => {
    let runs = 0;
    const f = memoize(
      async function search(q: string) {
        runs++;
        return q === 'none' ? [] : [q];
      },
      { shouldCache: (rows) => rows.length > 0 },
    );
    expect(await f('none')).toEqual([]);
    expect(await f('none')).toEqual([]);
    expect(await f('x')).toEqual(['x']);
    expect(await f('x')).toEqual(['x']);
    expect(runs).toBe(3);
  });

  test('keyArgs rewrites arguments before keying', async () => {
    let runs = 0;
    const f = memoize(
      async function profile(user: { id: number; loadedAt: number }) {
        runs++;
        return user.id;
      },
      { keyArgs: (user) => [user.id] },
    );
    await f({ id: 1, loadedAt: 1 });
    await f({ id: 1, loadedAt: 2 });
    expect(runs).toBe(1);
    expect(f.keyFor({ id: 1, loadedAt: 3 })).toBe(f.keyFor({ id: 1, loadedAt: 4 }));
  });

  test('keyArgs that returns a non-array is a TypeError at the call', async () => {
    const f = memoize(
      async function bad(n: number) {
        return n;
      },
      { keyArgs: ((n: number) => n) as never },
    );
    await expect(f(1)).rejects.toThrow(new TypeError('cache-memoize: keyArgs of bad must return an array, got number'));
  });

  test('arguments that cannot be keyed reject with a TypeError and run nothing', async () => {
    let runs = 0;
    const f = memoize(async function takesAnything(_x: unknown) {
      runs++;
    });
    await expect(f(() => 1)).rejects.toThrow(/argument 0 is a function/);
    await expect(f(Symbol('s'))).rejects.toThrow(/argument 0 is a symbol/);
    const loop: unknown[] = [];
    loop.push(loop);
    await expect(f(loop)).rejects.toThrow(/argument 0\[0\] is circular/);
    expect(runs).toBe(0);
  });

  test('a 1 MB string argument works', async () => {
    const f = memoize(async function len(s: string) {
      return s.length;
    });
    const big = 'x'.repeat(1024 * 1024);
    expect(await f(big)).toBe(big.length);
    expect(await f(big)).toBe(big.length);
  });

  test('hooks get key, name, args and duration; memoizer and function hooks both run', async () => {
    const seen: string[] = [];
    const local = createMemoizer({
      store,
      keyPrefix: uniquePrefix('hooks'),
      onHit: (e) => seen.push(`memoizer hit ${e.name}`),
      onMiss: (e) => seen.push(`memoizer miss ${e.name}`),
    });
    const events: CallEvent[] = [];
    const f = local(
      async function hooked(n: number) {
        return n;
      },
      { onHit: (e) => events.push(e), onMiss: (e) => events.push(e) },
    );
    await f(7);
    await f(7);
    expect(seen).toEqual(['memoizer miss hooked', 'memoizer hit hooked']);
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({ key: f.keyFor(7), name: 'hooked', args: [7], durationMs: expect.any(Number) });
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  test('a throwing hook never breaks the call; it is reported as a process warning', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const f = memoize(
        async function withBadHook() {
          return 1;
        },
        {
          onMiss: () => {
            throw new Error('hook bug');
          },
        },
      );
      expect(await f()).toBe(1);
      expect(warn).toHaveBeenCalledWith('cache-memoize: a hook threw: hook bug');
    } finally {
      warn.mockRestore();
    }
  });

  test('keyFor, original and name', async () => {
    const named = createMemoizer({ store, keyPrefix: 'blog' });
    async function getRelatedPosts(id: number) {
      return [id];
    }
    const f = named(getRelatedPosts, 3600);
    expect(f.keyFor(42)).toMatch(/^blog:getRelatedPosts:\{[\w-]{43}\}$/);
    expect(f.keyFor(42)).not.toBe(f.keyFor(43));
    expect(f.original).toBe(getRelatedPosts);
    expect(f.name).toBe('getRelatedPosts');
  });

  test('invalidate deletes the entry; the next call computes again', async () => {
    let runs = 0;
    const f = memoize(async function counter(id: number) {
      return `${id}:${++runs}`;
    });
    expect(await f(1)).toBe('1:1');
    expect(await f(2)).toBe('2:2');
    await f.invalidate(1);
    expect(await store.get(f.keyFor(1))).toBeNull();
    expect(await f(1)).toBe('1:3');
    expect(await f(2)).toBe('2:2');
  });

  test('refresh recomputes, stores and returns the fresh value', async () => {
    let version = 1;
    const f = memoize(async function versioned() {
      return version;
    });
    expect(await f()).toBe(1);
    version = 2;
    expect(await f()).toBe(1);
    expect(await f.refresh()).toBe(2);
    version = 3;
    expect(await f()).toBe(2);
  });

  test('refresh rejects with the function error and leaves no stale value', async () => {
    let fail = false;
    const f = memoize(async function sometimes() {
      if (fail) throw new Error('db down');
      return 'old';
    });
    await f();
    fail = true;
    await expect(f.refresh()).rejects.toThrow('db down');
    expect(await store.get(f.keyFor())).toBeNull();
  });

  test('invalidateAll deletes every entry of the function and only of that function', async () => {
    let runs = 0;
    const f = memoize(async function many(n: number) {
      runs++;
      return n;
    });
    const g = memoize(async function manyOther(n: number) {
      return n;
    });
    for (let i = 0; i < 30; i++) await f(i);
    await g(1);
    await f.invalidateAll();
    for (let i = 0; i < 30; i++) expect(await store.get(f.keyFor(i))).toBeNull();
    expect(await store.get(g.keyFor(1))).toBeDefined();
    await f(0);
    expect(runs).toBe(31);
  });

  test('damaged bytes at the key are a miss, get overwritten, and are reported', async () => {
    const errors: string[] = [];
    let runs = 0;
    const f = memoize(
      async function victim() {
        runs++;
        return 'good';
      },
      { onError: (e) => errors.push(e.error.code) },
    );
    await f();
    // Plant what another program (or a version from the future) might leave there.
    const key = f.keyFor();
    await store.rotate({ key, tokenTtlMs: 60_000 });
    const fresh = await store.begin({ key, tokenTtlMs: 60_000 });
    await store.set({
      key,
      token: fresh.token!,
      value: 'cm9J{"__proto__":{"polluted":true}}',
      ttlMs: 60_000,
      tokenTtlMs: 60_000,
    });
    expect(await f()).toBe('good');
    expect(errors).toEqual(['E_DECODE']);
    expect(await f()).toBe('good');
    expect(runs).toBe(2);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('memoizers and configuration', () => {
  test('calling without a store rejects with E_NOT_CONFIGURED', async () => {
    const memoize = createMemoizer();
    const f = memoize(async function lonely() {
      return 1;
    });
    await expect(f()).rejects.toMatchObject({ code: 'E_NOT_CONFIGURED', name: 'MemoizeError' });
  });

  test('configure() later provides the store to functions made before it', async () => {
    const memoize = createMemoizer({ keyPrefix: uniquePrefix('late') });
    let runs = 0;
    const f = memoize(async function early() {
      return ++runs;
    });
    memoize.configure({ client });
    expect(await f()).toBe(1);
    expect(await f()).toBe(1);
    expect(await client.get(f.keyFor())).toBe('cm1J1\n');
  });

  test('ttl and keyPrefix defaults come from the memoizer', async () => {
    const prefix = uniquePrefix('defaults');
    const memoize = createMemoizer({ client, keyPrefix: prefix, ttl: '2m' });
    const f = memoize(async function withDefaults() {
      return 1;
    });
    await f();
    expect(f.keyFor()).toMatch(new RegExp(`^${prefix}:withDefaults:`));
    const pttl = await client.pTTL(f.keyFor());
    expect(pttl).toBeGreaterThan(110_000);
    expect(pttl).toBeLessThanOrEqual(120_000);
  });

  test('a second, different function under the same keyPrefix:name is a TypeError', () => {
    const memoize = createMemoizer({ keyPrefix: 'dup' });
    const first = async function same() {
      return 1;
    };
    memoize(first);
    expect(() => memoize(first, 60)).not.toThrow();
    expect(() =>
      memoize(async function same() {
        return 2;
      }),
    ).toThrow(/another function is already memoized as 'dup:same'/);
    expect(() =>
      memoize(
        async function same() {
          return 2;
        },
        { keyPrefix: 'dup2' },
      ),
    ).not.toThrow();
  });

  test('a store whose get throws instead of rejecting is a failed read, not a thrown call', async () => {
    // A custom store with a bug: no real server produces a synchronous throw, so this one is made up.
    const inner = new MemoryStore();
    const store: Store = {
      get: () => {
        throw new Error('sync bug');
      },
      begin: (request) => inner.begin(request),
      set: (request) => inner.set(request),
      delete: (k) => inner.delete(k),
      rotate: (request) => inner.rotate(request),
      deleteMatching: (request) => inner.deleteMatching(request),
    };
    const errors: string[] = [];
    const memoize = createMemoizer({ store, onError: (e) => errors.push(e.error.code) });
    const f = memoize(async function robust() {
      return 'computed';
    });
    await expect(f()).resolves.toBe('computed');
    expect(errors).toEqual(['E_UNAVAILABLE']);
  });

  test('a client that has been closed costs nothing but a reported error: calls still answer', async () => {
    const dead = await connect();
    await dead.quit();
    const errors: string[] = [];
    const memoize = createMemoizer({ client: dead, onError: (e) => errors.push(e.error.code) });
    const f = memoize(async function survives(n: number) {
      return n * 2;
    });
    expect(await f(2)).toBe(4);
    expect(errors).toEqual(['E_UNAVAILABLE']);
    await expect(f.invalidate(2)).rejects.toMatchObject({ code: 'E_UNAVAILABLE', name: 'StoreError' });
    await expect(f.refresh(2)).rejects.toMatchObject({ code: 'E_UNAVAILABLE' });
    await expect(f.invalidateAll()).rejects.toMatchObject({ code: 'E_UNAVAILABLE' });
  });
});

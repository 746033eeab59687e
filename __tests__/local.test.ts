import { createClient, type RedisClientType } from 'redis';
import { createMemoizer, memoize } from '../lib/memoizer';
import { MemoryStore } from '../lib/stores/memory';
import { RedisStore } from '../lib/stores/redis/store';
import type { DeleteMatchingRequest, RotateRequest, Tracking } from '../lib/stores/store';
import { keptStoreHit, listen, type Probe, probe, untilLocal } from './helpers/local';
import { connect, deferred, sleep, testRedisUrl, uniquePrefix, until } from './helpers/redis';
import { bothStores, CountingStore } from './helpers/stores';

// The in-process tier (options local and clone) in one process, over both stores; the suite Redis
// for the RedisStore cases. Changes made by other clients and processes, and tracking connection
// failures, are in local-cross-process.test.ts.

let client: RedisClientType;
let other: RedisClientType;
beforeAll(async () => {
  client = await connect();
  other = await connect();
});
afterAll(async () => {
  await client.quit();
  await other.quit();
});

const stores = bothStores(() => client);

/**
 * Test seam: the store's change feed with every key change dropped (coverage changes still pass).
 * It stands for notifications that are late (Redis pushes them on another connection, so they may
 * arrive after the store's answer): what must be visible at once must not depend on them. Its
 * `holdChanges()` also holds the next delete, rotate or deleteMatching before it reaches the store
 * (a slow network), so reads can run before the store applies it.
 */
class Deaf extends CountingStore {
  #tracking: Tracking | undefined;
  #held: Promise<void> | undefined;
  override tracking(): Tracking | undefined {
    const inner = this.inner.tracking?.();
    if (inner === undefined) return undefined;
    this.#tracking ??= {
      covers: (prefix) => inner.covers(prefix),
      watch: (prefix, listener) =>
        inner.watch(prefix, (key) => {
          if (key === null) listener(null);
        }),
    };
    return this.#tracking;
  }
  /** Holds the next change until the returned function is called. */
  holdChanges(): () => void {
    const release = deferred<void>();
    this.#held = release.promise;
    return () => release.resolve();
  }
  async #wait(): Promise<void> {
    const held = this.#held;
    this.#held = undefined;
    await held;
  }
  override async delete(key: string): Promise<void> {
    await this.#wait();
    return super.delete(key);
  }
  override async rotate(request: RotateRequest): Promise<string> {
    await this.#wait();
    return super.rotate(request);
  }
  override async deleteMatching(request: DeleteMatchingRequest): Promise<number> {
    await this.#wait();
    return super.deleteMatching(request);
  }
}

/**
 * Test seam: a store whose next `get` holds its answer (already read from the store) until the test
 * lets it go, so a change can be made and heard while the read is in flight.
 */
class Gated extends CountingStore {
  #hold: { answered: () => void; release: Promise<void> } | undefined;
  /** Arms the gate; `answered` resolves once the held read has its answer. */
  arm(): { answered: Promise<void>; release: () => void } {
    const answered = deferred<void>();
    const release = deferred<void>();
    this.#hold = { answered: () => answered.resolve(), release: release.promise };
    return { answered: answered.promise, release: () => release.resolve() };
  }
  protected override async read<T>(work: () => Promise<T>): Promise<T> {
    const hold = this.#hold;
    this.#hold = undefined;
    const answer = await work();
    if (hold !== undefined) {
      hold.answered();
      await hold.release;
    }
    return answer;
  }
}

/** A store that cannot report changes (a custom store written before `tracking()` existed). */
class Untracked extends CountingStore {
  override tracking(): undefined {
    return undefined;
  }
}

describe.each(stores)('%s: one process', (_label, makeStore) => {
  let p: Probe;
  const source = { version: 1 };
  beforeEach(() => {
    source.version = 1;
  });

  test('a store hit is kept: the next calls are local hits (no store read), with equal results', async () => {
    p = probe(makeStore(), uniquePrefix('local-basic'), { local: true }, source);
    const first = await p.call(1);
    expect(first.kind).toBe('miss');
    const kept = await untilLocal(p, 1);
    expect(kept).toEqual(first.value);
    const gets = p.store.calls.get;
    for (let i = 0; i < 5; i++) {
      const r = await p.call(1);
      expect(r.kind).toBe('local');
      // Shared, as documented without clone.
      expect(r.value).toBe(kept);
    }
    expect(p.store.calls.get).toBe(gets);
    expect(p.computes).toBe(1);
    expect(p.errors).toEqual([]);
  });

  test('without local, every hit reads the store', async () => {
    p = probe(makeStore(), uniquePrefix('local-off'), {}, source);
    await p.call(1);
    for (let i = 0; i < 5; i++) expect((await p.call(1)).kind).toBe('store');
  });

  describe('changes made here are visible as soon as they resolve, without waiting for notifications', () => {
    let deaf: Deaf;
    beforeEach(async () => {
      deaf = new Deaf(makeStore());
      p = probe(deaf, uniquePrefix('local-here'), { local: true }, source);
      await p.call(1);
      await p.call(2);
      await untilLocal(p, 1);
      await untilLocal(p, 2);
      source.version = 2;
    });

    test('invalidate', async () => {
      await p.f.invalidate(1);
      expect((await p.call(1)).value.version).toBe(2);
      expect((await p.call(2)).kind).toBe('local');
    });

    test('refresh', async () => {
      expect((await p.f.refresh(1)).version).toBe(2);
      const r = await p.call(1);
      expect(r.kind).not.toBe('local');
      expect(r.value.version).toBe(2);
    });

    test('invalidateAll', async () => {
      await p.f.invalidateAll();
      expect((await p.call(1)).value.version).toBe(2);
      expect((await p.call(2)).value.version).toBe(2);
    });

    test('while invalidate waits for the store: calls skip the tier; a read answered before the store deleted is not kept', async () => {
      const release = deaf.holdChanges();
      const invalidated = p.f.invalidate(1);
      const during = await p.call(1);
      // The store still has version 1: reading it is fine, serving it from the tier is not.
      expect(during.kind).toBe('store');
      expect(during.value.version).toBe(1);
      release();
      await invalidated;
      const after = await p.call(1);
      expect(after.kind).toBe('miss');
      expect(after.value.version).toBe(2);
    });

    test('while refresh runs: calls skip the tier and wait for the fresh value', async () => {
      const release = deaf.holdChanges();
      const refreshed = p.f.refresh(1);
      const during = p.call(1);
      release();
      expect((await during).value.version).toBe(2);
      expect((await refreshed).version).toBe(2);
      const after = await p.call(1);
      expect(after.kind).not.toBe('local');
      expect(after.value.version).toBe(2);
    });

    test('while invalidateAll waits for the store: calls skip the tier; a read answered before is not kept', async () => {
      const release = deaf.holdChanges();
      const invalidated = p.f.invalidateAll();
      const during = await p.call(2);
      expect(during.kind).toBe('store');
      expect(during.value.version).toBe(1);
      release();
      await invalidated;
      expect((await p.call(2)).value.version).toBe(2);
      expect((await p.call(1)).value.version).toBe(2);
    });

    test.each([
      ['invalidate then read', true],
      ['read then invalidate', false],
    ])('a read in flight with an invalidate is not kept (%s)', async (_order, invalidateFirst) => {
      // Id 3 is in the store (version 1) but not in the tier: the read really goes to the store.
      source.version = 1;
      await p.call(3);
      source.version = 2;
      let read: Promise<unknown>;
      let invalidated: Promise<void>;
      if (invalidateFirst) {
        invalidated = p.f.invalidate(3);
        read = p.f(3);
      } else {
        read = p.f(3);
        invalidated = p.f.invalidate(3);
      }
      await Promise.all([read, invalidated]);
      const r = await p.call(3);
      expect(r.kind).not.toBe('local');
      expect(r.value.version).toBe(2);
    });
  });

  test('maxEntries bounds the tier; the most recently used entries stay', async () => {
    p = probe(makeStore(), uniquePrefix('local-max'), { local: { maxEntries: 4 } }, source);
    await p.call(0);
    await untilLocal(p, 0);
    // Each id: a miss, then store hits until one is kept (its first local hit moves nothing).
    for (let id = 1; id <= 20; id++) await untilLocal(p, id);
    const local: number[] = [];
    for (let id = 20; id >= 0; id--) if ((await p.call(id)).kind === 'local') local.push(id);
    expect(local).toEqual([20, 19, 18, 17]);

    // Recency: 1..4 kept, 1 used again, 5 kept: 2 (the least recently used) goes, not 1.
    const q = probe(makeStore(), uniquePrefix('local-lru'), { local: { maxEntries: 4 } }, source);
    await q.call(0);
    await untilLocal(q, 0);
    for (let id = 1; id <= 4; id++) await untilLocal(q, id);
    expect((await q.call(1)).kind).toBe('local');
    await untilLocal(q, 5);
    const kinds: Record<number, string> = {};
    for (const id of [1, 3, 4, 5, 2]) kinds[id] = (await q.call(id)).kind;
    expect(kinds).toEqual({ 1: 'local', 3: 'local', 4: 'local', 5: 'local', 2: 'store' });
  });

  test('local ttl: a value leaves the tier after it, while the store still has it', async () => {
    p = probe(makeStore(), uniquePrefix('local-ttl'), { ttl: 60, local: { ttl: '150ms' } }, source);
    await p.call(1);
    const kept = await untilLocal(p, 1);
    await sleep(200);
    const r = await p.call(1);
    expect(r.kind).toBe('store');
    expect(r.value).toEqual(kept);
    expect((await p.call(1)).kind).toBe('local');
  });

  test("the entry's freshness caps the local lifetime; a stale hit (stale-while-revalidate) is not kept", async () => {
    // The store keeps the entry for ttl + staleTtl, the tier would keep it a minute: the ttl wins.
    p = probe(makeStore(), uniquePrefix('local-fresh'), { ttl: '300ms', staleTtl: 10, local: { ttl: '1m' } }, source);
    await p.call(1);
    const kept = await untilLocal(p, 1);
    await sleep(350);
    source.version = 2;
    const stale = await p.call(1);
    expect(stale.kind).toBe('stale');
    expect(stale.value).toEqual(kept);
    // The stale value is not served from the tier, now or after the background refresh.
    await until(async () => (await p.call(1)).value.version === 2, 'the refreshed value');
    const after = await untilLocal(p, 1);
    expect(after.version).toBe(2);
  });

  test('ttl Infinity: values stay local until changed', async () => {
    p = probe(makeStore(), uniquePrefix('local-inf'), { ttl: Number.POSITIVE_INFINITY, local: true }, source);
    await p.call(1);
    const kept = await untilLocal(p, 1);
    await sleep(50);
    expect((await p.call(1)).value).toBe(kept);
    source.version = 2;
    await p.f.invalidate(1);
    expect((await p.call(1)).value.version).toBe(2);
  });

  test('clone: a caller mutating its result does not change what the next caller gets', async () => {
    p = probe(makeStore(), uniquePrefix('local-clone'), { local: true, clone: true }, source);
    await p.call(0);
    await untilLocal(p, 0);
    await p.call(1);
    const { storeHit, localHit } = await keptStoreHit(p, 1);
    expect(localHit.value).not.toBe(storeHit.value);
    storeHit.value.list.push(99);
    const a = await p.call(1);
    expect(a.kind).toBe('local');
    expect(a.value.list).toEqual([1, 2, 3]);
    a.value.list.push(100);
    a.value.version = 42;
    const b = await p.call(1);
    expect(b.kind).toBe('local');
    expect(b.value).not.toBe(a.value);
    expect(b.value).toEqual({ ...localHit.value, list: [1, 2, 3] });
    expect(localHit.value.list).toEqual([1, 2, 3]);
  });

  test('without clone, local hits share one object: a mutation is seen by the next caller (documented)', async () => {
    p = probe(makeStore(), uniquePrefix('local-share'), { local: true }, source);
    await p.call(0);
    await untilLocal(p, 0);
    await p.call(1);
    const { storeHit, localHit: a } = await keptStoreHit(p, 1);
    expect(a.value).toBe(storeHit.value);
    a.value.list.push(99);
    expect((await p.call(1)).value.list).toEqual([1, 2, 3, 99]);
  });

  test('clone keeps what the serializer keeps: Buffer, Date, Map, Set, BigInt, undefined', async () => {
    const keyPrefix = uniquePrefix('local-types');
    const kinds: Array<boolean | undefined> = [];
    const m = createMemoizer({ store: makeStore(), keyPrefix, onHit: (e) => kinds.push(e.local) });
    const rich = m(
      async function rich(_id: number) {
        return {
          buffer: Buffer.from([0, 1, 2, 255]),
          date: new Date('2024-02-29T12:00:00.000Z'),
          map: new Map<string, unknown>([
            ['a', 1],
            ['b', new Date(0)],
          ]),
          set: new Set([1, 'two']),
          big: 2n ** 70n,
          nothing: undefined,
        };
      },
      { local: true, clone: true, ttl: 60 },
    );
    const expected = await rich(1);
    await until(async () => {
      await rich(1);
      return kinds.at(-1) === true;
    }, 'a local hit');
    const a = await rich(1);
    const b = await rich(1);
    expect(kinds.at(-1)).toBe(true);
    expect(a).toEqual(expected);
    expect(Buffer.isBuffer(a.buffer)).toBe(true);
    expect(a.date).toBeInstanceOf(Date);
    expect(a.map).toBeInstanceOf(Map);
    expect(a.map.get('b')).toBeInstanceOf(Date);
    expect(a.set).toBeInstanceOf(Set);
    expect(typeof a.big).toBe('bigint');
    expect('nothing' in a).toBe(true);
    expect(b.buffer).not.toBe(a.buffer);
    expect(b.map).not.toBe(a.map);
    a.map.set('c', 3);
    a.buffer[0] = 7;
    const c = await rich(1);
    expect(c).toEqual(expected);
  });
});

describe('freshness without stale-while-revalidate', () => {
  test('without staleTtl or earlyRefresh, an entry read past its freshness is a plain hit: no stale flag, no refresh', async () => {
    // The entries a local tier writes carry their freshness. Here the store keeps the entry past it
    // (its clock stands still, as a reader's clock may run ahead of the writer's).
    const frozen = Date.now();
    const p = probe(new MemoryStore({ now: () => frozen }), uniquePrefix('local-past-fresh'), {
      ttl: '100ms',
      local: true,
    });
    await p.call(1);
    await sleep(150);
    const late = await p.call(1);
    expect(late.kind).toBe('store');
    await sleep(50);
    expect(p.computes).toBe(1);
    // Past its freshness the value is not kept locally either.
    expect((await p.call(1)).kind).toBe('store');
  });
});

describe('local hits and early refresh; many changes (MemoryStore)', () => {
  test('a local hit near expiry refreshes early in the background, like a store hit does', async () => {
    let roll = 0.999_999;
    let computes = 0;
    let lastHitWasLocal = false;
    const memoizeHere = createMemoizer({
      store: new MemoryStore(),
      keyPrefix: uniquePrefix('local-xfetch'),
      onHit: (e) => {
        lastHitWasLocal = e.local === true;
      },
    });
    const f = memoizeHere(
      async function slow(id: number) {
        computes++;
        await sleep(20);
        return { id, computes };
      },
      { ttl: '10s', local: true, earlyRefresh: { random: () => roll } },
    );
    await f(1);
    await until(async () => {
      await f(1);
      return lastHitWasLocal;
    }, 'a local hit');
    expect(computes).toBe(1);
    // ln(1e-300) is about -690: 20 ms of compute puts the refresh 14 s ahead, past the 10 s ttl.
    roll = 1e-300;
    const served = await f(1);
    expect(lastHitWasLocal).toBe(true);
    expect(served.computes).toBe(1);
    await until(() => computes > 1, 'the early refresh to run');
  });

  test('an entry evicted from the store is dropped from every tier, so invalidateAll cannot miss it', async () => {
    // Two memoizers share one MemoryStore that holds two entries (value and token each).
    const store = new MemoryStore({ maxKeys: 4 });
    const keyPrefix = uniquePrefix('local-evicted');
    const source = { version: 1 };
    const a = probe(store, keyPrefix, { local: true }, source);
    const b = probe(store, keyPrefix, { local: true }, source);
    await b.call(1);
    await untilLocal(b, 1);
    for (const id of [2, 3, 4]) await a.call(id);
    source.version = 2;
    await a.f.invalidateAll();
    expect((await b.call(1)).value.version).toBe(2);
  });

  test('more than 4096 changes of other keys do not empty the tier (reads in flight lose their say only)', async () => {
    const p = probe(new MemoryStore({ maxKeys: 20_000 }), uniquePrefix('local-many'), { local: true });
    await p.call(1);
    await untilLocal(p, 1);
    for (let id = 2; id < 4200; id++) await p.f.invalidate(id);
    expect((await p.call(1)).kind).toBe('local');
  });
});

describe('RedisStore: the race the tickets exist for', () => {
  test('a read answered with the old value, whose change was heard before the answer, is not kept', async () => {
    const keyPrefix = uniquePrefix('local-race');
    const gated = new Gated(new RedisStore(client));
    const a = probe(gated, keyPrefix, { local: true });
    const b = probe(new RedisStore(other), keyPrefix, {}, { version: 2 });
    await a.call(0);
    await untilLocal(a, 0); // tracking confirmed
    await a.call(1); // stored, version 1; not in the tier (a miss is not kept)
    const heard = listen(a.store, a.functionPrefix);
    try {
      const gate = gated.arm();
      const read = a.call(1);
      await gate.answered;
      // While the answer (version 1) is held: another client writes version 2, and a's tracking hears it.
      expect((await b.f.refresh(1)).version).toBe(2);
      await until(() => heard.heard.includes(a.f.keyFor(1)), 'the change notification');
      gate.release();
      const old = await read;
      // The read began before the change: returning the old value is fine, keeping it is not.
      expect(old.kind).toBe('store');
      expect(old.value.version).toBe(1);
      const next = await a.call(1);
      expect(next.kind).toBe('store');
      expect(next.value.version).toBe(2);
      expect((await untilLocal(a, 1)).version).toBe(2);
    } finally {
      heard.stop();
    }
  });

  test('the other order: the answer is kept, then the change is heard and evicts it', async () => {
    const keyPrefix = uniquePrefix('local-race2');
    const a = probe(new RedisStore(client), keyPrefix, { local: true });
    const b = probe(new RedisStore(other), keyPrefix, {}, { version: 2 });
    await a.call(1);
    await untilLocal(a, 1);
    await b.f.refresh(1);
    await until(async () => (await a.call(1)).value.version === 2, 'the new value', 1000);
  });
});

/**
 * Stands for node-redis 5.8: its duplicate() ignores emitInvalidate, so the handshake leaves tracking
 * off on the RESP3 connection. Faked with the current client rather than a second node-redis install:
 * what the library checks is the server's CLIENT TRACKINGINFO. The tracking connection is asked for
 * with overrides (`duplicates`), the lock-release subscriber without (`others`).
 */
function oldNodeRedis(client: RedisClientType) {
  const name = uniquePrefix('old-node-redis');
  const duplicates: RedisClientType[] = [];
  const others: RedisClientType[] = [];
  const old = {
    get: (key: string) => client.get(key),
    evalSha: (sha: string, o: { keys: string[]; arguments: string[] }) => client.evalSha(sha, o),
    eval: (script: string, o: { keys: string[]; arguments: string[] }) => client.eval(script, o),
    unlink: (keys: string[]) => client.unlink(keys),
    scanIterator: (o: { MATCH: string; COUNT: number }) => client.scanIterator(o),
    duplicate: (overrides?: object) => {
      const d = createClient({ url: testRedisUrl(), RESP: 3, name }) as RedisClientType;
      if (overrides !== undefined) duplicates.push(d);
      else others.push(d);
      return d;
    },
  };
  return { old, duplicates, others };
}

describe('E_NO_TRACKING: no local tier without change notifications', () => {
  test('a custom store without tracking(): reported once through onError; every call reads the store', async () => {
    const store = new Untracked(new MemoryStore());
    const p = probe(store, uniquePrefix('local-untracked'), { local: true });
    const first = await p.call(1);
    for (let i = 0; i < 10; i++) {
      const r = await p.call(1);
      expect(r.kind).toBe('store');
      expect(r.value).toEqual(first.value);
    }
    expect(store.calls.get).toBe(11);
    expect(p.errors.map((e) => e.code)).toEqual(['E_NO_TRACKING']);
  });

  test('a Redis Cluster client (any client with masters): no tracking connection, reported, calls work', async () => {
    // Not a real cluster (none here): the library tells a cluster by its `masters`, and this object
    // has it over a single-node client; keys of a real cluster live on several servers, which one
    // broadcast tracking connection cannot hear.
    const clusterLike = {
      masters: [],
      get: (key: string) => client.get(key),
      evalSha: (sha: string, o: { keys: string[]; arguments: string[] }) => client.evalSha(sha, o),
      eval: (script: string, o: { keys: string[]; arguments: string[] }) => client.eval(script, o),
      unlink: (keys: string[]) => client.unlink(keys),
      scanIterator: (o: { MATCH: string; COUNT: number }) => client.scanIterator(o),
      duplicate: () => {
        throw new Error('a cluster is not duplicated for tracking');
      },
    };
    const p = probe(new RedisStore(clusterLike as never), uniquePrefix('local-cluster'), { local: true });
    const first = await p.call(1);
    for (let i = 0; i < 5; i++) expect((await p.call(1)).kind).toBe('store');
    expect((await p.call(1)).value).toEqual(first.value);
    expect(p.errors.map((e) => e.code)).toEqual(['E_NO_TRACKING']);
  });

  test('node-redis without emitInvalidate (before 5.9): detected, reported once, calls read Redis', async () => {
    const { old, duplicates, others } = oldNodeRedis(client);
    try {
      const p = probe(new RedisStore(old as never), uniquePrefix('local-old'), { local: true });
      const first = await p.call(1);
      // Reported to onError by the first call after tracking gave up; every call reads Redis.
      await until(async () => {
        expect((await p.call(1)).kind).toBe('store');
        return p.errors.length > 0;
      }, 'the E_NO_TRACKING report');
      for (let i = 0; i < 5; i++) {
        await sleep(5);
        expect((await p.call(1)).kind).toBe('store');
      }
      expect((await p.call(1)).value).toEqual(first.value);
      expect(p.errors.map((e) => e.code)).toEqual(['E_NO_TRACKING']);
      expect(p.errors[0]?.message).toMatch(/node-redis 5\.9/);
      // The useless connection was closed.
      expect(duplicates).toHaveLength(1);
      await until(() => duplicates.every((d) => !d.isOpen), 'the tracking connection to close');
    } finally {
      for (const d of [...duplicates, ...others]) if (d.isOpen) d.destroy();
    }
  });

  test('E_NO_TRACKING from a node-redis without emitInvalidate reaches onError, like the other causes', async () => {
    // Tracking gives up inside a ServerTracking shared by the client, which has no hooks: the report
    // must still reach this function's onError at its next call, not only a process warning.
    const { old, duplicates, others } = oldNodeRedis(client);
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation((() => {}) as typeof process.emitWarning);
    try {
      const p = probe(new RedisStore(old as never), uniquePrefix('local-old-hook'), { local: true });
      await p.call(1);
      await until(() => duplicates[0] !== undefined && !duplicates[0].isOpen, 'tracking to give up');
      await p.call(1);
      expect(p.errors.map((e) => e.code)).toContain('E_NO_TRACKING');
    } finally {
      spy.mockRestore();
      for (const d of [...duplicates, ...others]) if (d.isOpen) d.destroy();
    }
  });
});

describe('option validation', () => {
  const fn = async function validated(x: number) {
    return x;
  };
  const m = createMemoizer({ store: new MemoryStore() });

  test.each<[string, unknown]>([
    ['yes', 'yes'],
    ['1', 1],
    ['0', 0],
    ['null', null],
    ['an array', []],
    ['a function', () => true],
  ])('local: %s is a TypeError naming local', (_label, local) => {
    expect(() => m(fn, { local } as never)).toThrow(TypeError);
    expect(() => m(fn, { local } as never)).toThrow(/\blocal\b/);
    expect(() => createMemoizer({ local } as never)).toThrow(/\blocal\b/);
  });

  test.each<[string, unknown]>([
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ["'10'", '10'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['null', null],
    ['2**53', 2 ** 53],
  ])('local.maxEntries: %s is a TypeError naming local.maxEntries', (_label, maxEntries) => {
    expect(() => m(fn, { local: { maxEntries } } as never)).toThrow(TypeError);
    expect(() => m(fn, { local: { maxEntries } } as never)).toThrow(/local\.maxEntries/);
    expect(() => createMemoizer({ local: { maxEntries } } as never)).toThrow(/local\.maxEntries/);
  });

  test.each<[string, unknown]>([
    ['0', 0],
    ['-1', -1],
    ['0.0001', 0.0001],
    ["'abc'", 'abc'],
    ["'10 s'", '10 s'],
    ['NaN', Number.NaN],
    ['null', null],
    ['true', true],
  ])('local.ttl: %s is a TypeError naming local.ttl', (_label, ttl) => {
    expect(() => m(fn, { local: { ttl } } as never)).toThrow(TypeError);
    expect(() => m(fn, { local: { ttl } } as never)).toThrow(/local\.ttl/);
    expect(() => createMemoizer({ local: { ttl } } as never)).toThrow(/local\.ttl/);
  });

  test.each<[string, unknown]>([
    ['max', { max: 5 }],
    ['clone', { clone: true }],
    ['staleTtl', { maxEntries: 5, staleTtl: 1 }],
  ])('an unknown key in local (%s) is a TypeError naming it', (key, local) => {
    expect(() => m(fn, { local } as never)).toThrow(TypeError);
    expect(() => m(fn, { local } as never)).toThrow(new RegExp(`'${key}' in local`));
    expect(() => createMemoizer({ local } as never)).toThrow(new RegExp(`'${key}' in local`));
  });

  test.each<[string, unknown]>([
    ["'true'", 'true'],
    ['1', 1],
    ['null', null],
    ['an object', {}],
  ])('clone: %s is a TypeError naming clone', (_label, clone) => {
    expect(() => m(fn, { local: true, clone } as never)).toThrow(TypeError);
    expect(() => m(fn, { local: true, clone } as never)).toThrow(/\bclone\b/);
    expect(() => createMemoizer({ local: true, clone } as never)).toThrow(/\bclone\b/);
  });

  test('clone without local is a TypeError, wherever each is set', () => {
    expect(() => m(fn, { clone: true })).toThrow(TypeError);
    expect(() => m(fn, { clone: true })).toThrow(/clone.*local/);
    expect(() => m(fn, { clone: true, local: false })).toThrow(/clone.*local/);
    const cloning = createMemoizer({ store: new MemoryStore(), clone: true });
    expect(() => cloning(fn)).toThrow(/clone.*local/);
    expect(() => cloning(fn, { local: true })).not.toThrow();
    const localByDefault = createMemoizer({ store: new MemoryStore(), local: true, clone: true });
    expect(() => localByDefault(fn)).not.toThrow();
    expect(() => localByDefault(async function noLocal() {}, { local: false })).toThrow(/clone.*local/);
    // The process-wide memoizer validates the same way.
    expect(() => memoize(async function processWide() {}, { clone: true })).toThrow(/clone.*local/);
  });

  test.each<[string, unknown]>([
    ['true', true],
    ['false', false],
    ['{}', {}],
    ['{ ttl: Infinity }', { ttl: Number.POSITIVE_INFINITY }],
    ["{ maxEntries: 1, ttl: '1m' }", { maxEntries: 1, ttl: '1m' }],
    ['{ ttl: 0.5 }', { ttl: 0.5 }],
  ])('local: %s is accepted', (_label, local) => {
    expect(() => m(fn, { local } as never)).not.toThrow();
    expect(() => createMemoizer({ local } as never)).not.toThrow();
  });
});

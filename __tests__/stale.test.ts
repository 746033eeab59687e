import { performance } from 'node:perf_hooks';
import type { RedisClientType } from 'redis';
import { MemoizeError, SerializationError } from '../lib/errors';
import { createMemoizer, type Memoize } from '../lib/memoizer';
import type { CallEvent, DurationString, ErrorEvent } from '../lib/options';
import { decode, encode, stamp } from '../lib/serializer';
import { MemoryStore } from '../lib/stores/memory';
import { RedisStore } from '../lib/stores/redis/store';
import type { Store } from '../lib/stores/store';
import { connect, deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { bothStores, storedValue } from './helpers/stores';

let client: RedisClientType;
let otherClient: RedisClientType;
beforeAll(async () => {
  client = await connect();
  otherClient = await connect();
});
afterAll(async () => {
  await client.quit();
  await otherClient.quit();
});

// A background refresh must never leave a rejection nobody handles. (Jest 30 also fails the running
// test by itself when one happens, so either way it cannot go unnoticed.)
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));
afterEach(() => expect(unhandled).toEqual([]));

/**
 * A function whose runs are counted. A run takes the `gate` and `failWith` current when it starts:
 * it waits for the gate, then throws `failWith` if set, else returns `id#run`.
 */
function counted() {
  const state = { runs: 0, gate: Promise.resolve(), failWith: undefined as unknown };
  async function load(id: string): Promise<string> {
    const run = ++state.runs;
    const { gate, failWith } = state;
    await gate;
    if (failWith !== undefined) throw failWith;
    return `${id}#${run}`;
  }
  return { state, load };
}

/** Whether `promise` is still pending after `ms`. */
async function stillPending(promise: Promise<unknown>, ms = 100): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await sleep(ms);
  return !settled;
}

/** Calls `f` in `waves` sequential waves of `perWave` concurrent calls; every wave reads the store anew. */
async function waves<T>(f: () => Promise<T>, waveCount: number, perWave: number) {
  const results: T[] = [];
  const durations: number[] = [];
  for (let wave = 0; wave < waveCount; wave++) {
    const batch = await Promise.all(
      Array.from({ length: perWave }, async () => {
        const started = performance.now();
        const value = await f();
        durations.push(performance.now() - started);
        return value;
      }),
    );
    results.push(...batch);
  }
  return { results, durations };
}

// Generous for a loaded 2-core machine, yet meaningful: a call that waited for the refresh would wait
// for a gate the test only opens afterwards.
const QUICK_MS = 250;

describe.each(bothStores(() => client))('stale-while-revalidate over %s', (_name, makeStore) => {
  let store: Store;
  let memoize: Memoize;
  beforeEach(() => {
    store = makeStore();
    memoize = createMemoizer({ store, keyPrefix: uniquePrefix('swr') });
  });

  function pttl(key: string): Promise<number> | number {
    return store instanceof MemoryStore ? store.pttl(key) : client.pTTL(key);
  }

  // lock: false leaves only the in-process guard to keep the refresh single.
  test.each([
    ['', true],
    [' (lock: false)', false],
  ])(
    'after ttl: the stale value at once (stale: true), one background refresh for 50 callers, then fresh values%s',
    async (_label, lock) => {
      const { state, load } = counted();
      const hits: CallEvent[] = [];
      const f = memoize(load, { ttl: '200ms', staleTtl: '5s', lock, onHit: (e) => hits.push(e) });
      expect(await f('a')).toBe('a#1');
      await sleep(300);

      const held = deferred<void>();
      state.gate = held.promise;
      const { results, durations } = await waves(() => f('a'), 5, 10);
      expect(results).toEqual(Array(50).fill('a#1'));
      expect(Math.max(...durations)).toBeLessThan(QUICK_MS);
      expect(hits.length).toBeGreaterThanOrEqual(5); // each wave read the store and found it stale
      for (const hit of hits) {
        expect(hit.stale).toBe(true);
        expect(hit.durationMs).toBeLessThan(QUICK_MS);
      }
      await until(() => state.runs >= 2, 'the background refresh to start');
      await sleep(100); // room for a wrong second refresh to start
      expect(state.runs).toBe(2);

      held.resolve();
      await until(async () => (await storedValue(store, f.keyFor('a'))) === 'a#2', 'the refreshed value to land');
      hits.length = 0;
      expect(await f('a')).toBe('a#2');
      expect(hits).toHaveLength(1);
      expect(hits[0]!.stale).toBeUndefined();
      expect(state.runs).toBe(2);
    },
  );

  test('after ttl + staleTtl the entry is gone: a plain miss that computes while the caller waits', async () => {
    const { state, load } = counted();
    const hits: CallEvent[] = [];
    const misses: CallEvent[] = [];
    const f = memoize(load, {
      ttl: '200ms',
      staleTtl: '500ms',
      onHit: (e) => hits.push(e),
      onMiss: (e) => misses.push(e),
    });
    expect(await f('a')).toBe('a#1');
    await sleep(1000);
    expect(await store.get(f.keyFor('a'))).toBeNull();

    const held = deferred<void>();
    state.gate = held.promise;
    const call = f('a');
    expect(await stillPending(call)).toBe(true);
    expect(state.runs).toBe(2);
    held.resolve();
    expect(await call).toBe('a#2');
    expect(hits).toEqual([]);
    expect(misses).toHaveLength(2);
  });

  test('after invalidate no stale value is served: the next call computes and waits', async () => {
    const { state, load } = counted();
    const hits: CallEvent[] = [];
    const f = memoize(load, { ttl: '200ms', staleTtl: '5s', onHit: (e) => hits.push(e) });
    expect(await f('a')).toBe('a#1');
    await sleep(300);
    await f.invalidate('a');

    const held = deferred<void>();
    state.gate = held.promise;
    const call = f('a');
    expect(await stillPending(call)).toBe(true);
    held.resolve();
    expect(await call).toBe('a#2');
    expect(hits).toEqual([]);
    expect(state.runs).toBe(2);
  });

  test('a background refresh running when invalidate() is called cannot store its result', async () => {
    const { state, load } = counted();
    const f = memoize(load, { ttl: '200ms', staleTtl: '5s' });
    expect(await f('a')).toBe('a#1');
    await sleep(300);

    const held = deferred<void>();
    state.gate = held.promise;
    expect(await f('a')).toBe('a#1'); // stale; starts refresh run 2, held at the gate
    await until(() => state.runs === 2, 'the background refresh to start');
    await f.invalidate('a');
    state.gate = Promise.resolve();
    const started = performance.now();
    expect(await f('a')).toBe('a#3'); // a miss; invalidate dropped the refresh's lock, so it does not wait
    expect(performance.now() - started).toBeLessThan(1500); // waiting for the lock would take 5 s
    held.resolve();
    await sleep(200); // the old refresh finishes and tries to write
    expect(await storedValue(store, f.keyFor('a'))).toBe('a#3');
    expect(state.runs).toBe(3);
  });

  test('a failing refresh: callers keep the stale value, onError gets E_REFRESH_FAILED with the cause, a later refresh replaces it', async () => {
    const { state, load } = counted();
    const hits: CallEvent[] = [];
    const errors: ErrorEvent[] = [];
    const f = memoize(load, {
      ttl: '200ms',
      staleTtl: '5s',
      onHit: (e) => hits.push(e),
      onError: (e) => errors.push(e),
    });
    expect(await f('a')).toBe('a#1');
    await sleep(300);

    const boom = new Error('database down');
    state.failWith = boom;
    expect(await f('a')).toBe('a#1');
    await until(() => errors.length > 0, 'the failed refresh to be reported');
    const [first] = errors;
    expect(first!.error).toBeInstanceOf(MemoizeError);
    expect(first!.error.code).toBe('E_REFRESH_FAILED');
    expect(first!.error.cause).toBe(boom);
    expect(first!.key).toBe(f.keyFor('a'));
    expect(first!.args).toEqual(['a']);

    // Still failing: every call gets the stale value, never the refresh's error.
    for (let i = 0; i < 5; i++) {
      expect(await f('a')).toBe('a#1');
      await sleep(20);
    }
    expect(hits.every((e) => e.stale === true)).toBe(true);
    expect(state.runs).toBeGreaterThanOrEqual(2);
    expect(new Set(errors.map((e) => e.error.code))).toEqual(new Set(['E_REFRESH_FAILED']));
    expect(errors.every((e) => e.error.cause === boom)).toBe(true);

    state.failWith = undefined;
    let latest: string | undefined;
    await until(async () => {
      latest = await f('a');
      return latest !== 'a#1';
    }, 'a successful refresh to replace the stale value');
    expect(latest).toMatch(/^a#\d+$/);
    expect(await storedValue(store, f.keyFor('a'))).toBe(latest);
    await sleep(50); // let a stray rejection surface before afterEach checks
  });

  test.each<[string, DurationString, number]>([
    ['ttl 200ms + staleTtl 5s', '200ms', 5_200],
    ['ttl 10s + staleTtl 5s', '10s', 15_000],
  ])('the entry lives ttl + staleTtl (%s)', async (_label, ttl, ms) => {
    const { load } = counted();
    const f = memoize(load, { ttl, staleTtl: '5s' });
    await f('a');
    const remaining = await pttl(f.keyFor('a'));
    expect(remaining).toBeGreaterThan(ms - 500);
    expect(remaining).toBeLessThanOrEqual(ms);
  });

  test('staleTtl 0: the stored entry is the plain envelope, exactly as encode() wrote it', async () => {
    const f = memoize(async function plain(n: number) {
      return { n, list: [1, 2] };
    });
    await f(1);
    const stored = await store.get(f.keyFor(1));
    expect(stored).toBe(encode({ n: 1, list: [1, 2] }));
    expect(stored!.startsWith('cm1J')).toBe(true);
    const decoded = decode(stored!);
    expect(decoded.ok && decoded.freshUntil).toBeUndefined();
  });

  test('staleTtl > 0: the stored entry is timed, fresh until about now + ttl, with the compute time', async () => {
    const f = memoize(
      async function timedEntry(n: number) {
        await sleep(50);
        return n;
      },
      { ttl: '10s', staleTtl: '5s' },
    );
    await f(1);
    const stored = (await store.get(f.keyFor(1)))!;
    expect(stored.startsWith('cm1X')).toBe(true);
    const decoded = decode(stored);
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value).toBe(1);
    expect(decoded.freshUntil).toBeGreaterThan(Date.now() + 9_000);
    expect(decoded.freshUntil).toBeLessThanOrEqual(Date.now() + 10_000);
    expect(decoded.computeMs).toBeGreaterThanOrEqual(40);
    expect(decoded.computeMs).toBeLessThan(5_000);
  });

  test('a damaged timed envelope in the store is reported as E_DECODE and recomputed', async () => {
    const { state, load } = counted();
    const errors: ErrorEvent[] = [];
    const f = memoize(load, { ttl: '10s', staleTtl: '5s', onError: (e) => errors.push(e) });
    const key = f.keyFor('a');
    const begun = await store.begin({ key, tokenTtlMs: 60_000 });
    expect(
      await store.set({ key, token: begun.token!, value: 'cm1Xzz,1:cm1J{"broken', ttlMs: 60_000, tokenTtlMs: 60_000 }),
    ).toBe(true);
    expect(await f('a')).toBe('a#1');
    expect(errors.map((e) => e.error.code)).toEqual(['E_DECODE']);
    expect(state.runs).toBe(1);
    expect(await f('a')).toBe('a#1');
    expect(state.runs).toBe(1);
  });
});

describe.each<[string, () => [Store, Store]]>([
  ['RedisStore (two connections)', () => [new RedisStore(client), new RedisStore(otherClient)]],
  [
    'MemoryStore (shared)',
    () => {
      const shared = new MemoryStore();
      return [shared, shared];
    },
  ],
])('two memoizers on one %s, standing for two processes', (_name, makeStores) => {
  function twoMemoizers(lock: boolean) {
    const [storeA, storeB] = makeStores();
    const keyPrefix = uniquePrefix('swr-two');
    const { state, load } = counted();
    const hitsA: CallEvent[] = [];
    const hitsB: CallEvent[] = [];
    const options = { ttl: '200ms', staleTtl: '5s', lock } as const;
    const a = createMemoizer({ store: storeA, keyPrefix })(load, { ...options, onHit: (e) => hitsA.push(e) });
    const b = createMemoizer({ store: storeB, keyPrefix })(load, { ...options, onHit: (e) => hitsB.push(e) });
    expect(a.keyFor('k')).toBe(b.keyFor('k'));
    return { state, a, b, hitsA, hitsB, storeA };
  }

  test('exactly one background refresh between them (the lock)', async () => {
    const { state, a, b, hitsA, hitsB, storeA } = twoMemoizers(true);
    expect(await a('k')).toBe('k#1');
    expect(await b('k')).toBe('k#1');
    await sleep(300);

    const held = deferred<void>();
    state.gate = held.promise;
    const { results, durations } = await waves(() => Promise.all([a('k'), b('k')]), 5, 5);
    expect(results.flat()).toEqual(Array(50).fill('k#1'));
    expect(Math.max(...durations)).toBeLessThan(QUICK_MS);
    // Both found it stale, so both tried to refresh: only the lock kept the second one out.
    expect(hitsA.some((e) => e.stale === true)).toBe(true);
    expect(hitsB.some((e) => e.stale === true)).toBe(true);
    await until(() => state.runs >= 2, 'the background refresh to start');
    await sleep(100);
    expect(state.runs).toBe(2);

    held.resolve();
    await until(async () => (await storedValue(storeA, a.keyFor('k'))) === 'k#2', 'the refreshed value to land');
    expect(await a('k')).toBe('k#2');
    expect(await b('k')).toBe('k#2');
    expect(state.runs).toBe(2);
  });

  test('control: with lock: false each memoizer refreshes once', async () => {
    const { state, a, b, storeA } = twoMemoizers(false);
    expect(await a('k')).toBe('k#1');
    await sleep(300);
    const held = deferred<void>();
    state.gate = held.promise;
    await waves(() => Promise.all([a('k'), b('k')]), 5, 5);
    await until(() => state.runs >= 3, 'both refreshes to start');
    await sleep(100);
    expect(state.runs).toBe(3);
    held.resolve();
    await until(async () => (await storedValue(storeA, a.keyFor('k'))) !== 'k#1', 'a refreshed value to land');
  });
});

describe('the timed envelope', () => {
  test.each<[string, unknown]>([
    ['a number', 42],
    ['a plain object', { a: [1, 'x', null] }],
    ['undefined', undefined],
    ['a tagged value', { when: new Date(5), big: 2n ** 70n, tags: new Set(['a']), m: new Map([[1, 'one']]) }],
    ['a string holding envelope-like text', 'cm1X1,2:cm1J1'],
  ])('stamp() round-trips %s with its freshness', (_label, value) => {
    const inner = encode(value);
    const stamped = stamp(inner, { freshUntil: 1_800_000_000_123, computeMs: 250 });
    expect(stamped.startsWith('cm1X')).toBe(true);
    expect(stamped.endsWith(inner)).toBe(true);
    const decoded = decode(stamped);
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value).toStrictEqual(value);
    expect(decoded.freshUntil).toBe(1_800_000_000_123);
    expect(decoded.computeMs).toBe(250);
  });

  test('freshness is stored in whole milliseconds, and a negative compute time as 0', () => {
    const decoded = decode(stamp(encode(1), { freshUntil: 1000.6, computeMs: -3 }));
    expect(decoded).toEqual({ ok: true, value: 1, freshUntil: 1001, computeMs: 0 });
    const rounded = decode(stamp(encode(1), { freshUntil: 5, computeMs: 2.4 }));
    expect(rounded).toEqual({ ok: true, value: 1, freshUntil: 5, computeMs: 2 });
  });

  test('plain entries are not timed', () => {
    const decoded = decode(encode({ a: 1 }));
    expect(decoded).toEqual({ ok: true, value: { a: 1 } });
  });

  test.each<[string, string]>([
    ['header only', 'cm1X'],
    ['no colon', 'cm1X1,2cm1J1'],
    ['no comma', 'cm1X12:cm1J1'],
    ['comma after the colon', 'cm1X12:3,cm1J1'],
    ['empty freshUntil', 'cm1X,2:cm1J1'],
    ['empty computeMs', 'cm1X1,:cm1J1'],
    ['freshness not base 36', 'cm1X!!,2:cm1J1'],
    ['no inner envelope', 'cm1X1,2:'],
    ['foreign inner text', 'cm1X1,2:hello'],
    ['inner envelope nested timed', 'cm1X1,2:cm1X1,2:cm1J1'],
    ['inner JSON truncated', 'cm1X1,2:cm1J{"a":'],
    ['inner tagged envelope with an unknown tag', 'cm1X1,2:cm1T{"$":["?"]}'],
    ['inner tagged envelope truncated', 'cm1X1,2:cm1T[{"$":["b","1"'],
  ])('a damaged timed envelope (%s) decodes to E_DECODE without throwing', (_label, text) => {
    let decoded: ReturnType<typeof decode> | undefined;
    expect(() => {
      decoded = decode(text);
    }).not.toThrow();
    expect(decoded!.ok).toBe(false);
    if (decoded!.ok) return;
    expect(decoded!.error).toBeInstanceOf(SerializationError);
    expect(decoded!.error.code).toBe('E_DECODE');
  });
});

describe('bad input for staleTtl and the lock options is a TypeError naming the option', () => {
  const store = new MemoryStore();
  async function fn() {
    return 1;
  }
  function memoizeWith(options: unknown, defaults: Record<string, unknown> = {}) {
    return () => createMemoizer({ store, ...defaults })(fn, options as never);
  }

  const STALE_RULE = (got: string) =>
    new RegExp(
      String.raw`^cache-memoize: staleTtl \(or 0 for off\) must be a number of seconds \(at least 0\.001, or Infinity\) ` +
        `or a duration string such as '500ms', '30s', '5m', '1h', '1d'; got ${got}$`,
    );
  const MS_RULE = (option: string, got: string) =>
    new RegExp(
      `^cache-memoize: ${option} must be a positive number of milliseconds up to 2147483647 \\(about 24\\.8 days\\) ` +
        `or a duration string such as '250ms', '2s'; got ${got}$`,
    );
  const FINITE_TTL = /^cache-memoize: staleTtl needs a finite ttl \(with ttl Infinity nothing ever goes stale\)$/;

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['staleTtl -1', { staleTtl: -1 }, STALE_RULE('-1')],
    ['staleTtl "5 minutes"', { staleTtl: '5 minutes' }, STALE_RULE('"5 minutes"')],
    ['staleTtl {}', { staleTtl: {} }, STALE_RULE('an object')],
    ['staleTtl NaN', { staleTtl: Number.NaN }, STALE_RULE('NaN')],
    ['staleTtl "0s"', { staleTtl: '0s' }, STALE_RULE('"0s"')],
    ['staleTtl with ttl Infinity', { ttl: Number.POSITIVE_INFINITY, staleTtl: '5s' }, FINITE_TTL],
    ['lock "yes"', { lock: 'yes' }, /^cache-memoize: lock must be true or false; got "yes"$/],
    ['lock 1', { lock: 1 }, /^cache-memoize: lock must be true or false; got 1$/],
    ['lockTtl 0', { lockTtl: 0 }, MS_RULE('lockTtl', '0')],
    ['lockTtl Infinity', { lockTtl: Number.POSITIVE_INFINITY }, MS_RULE('lockTtl', 'Infinity')],
    ['lockTtl "5 seconds"', { lockTtl: '5 seconds' }, MS_RULE('lockTtl', '"5 seconds"')],
    ['lockWait -1', { lockWait: -1 }, MS_RULE('lockWait', '-1')],
    ['lockWait over the longest timer', { lockWait: 2 ** 31 }, MS_RULE('lockWait', '2147483648')],
  ])('%s in memoize()', (_label, options, message) => {
    expect(memoizeWith(options)).toThrow(TypeError);
    expect(memoizeWith(options)).toThrow(message);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['staleTtl', { staleTtl: -1 }, STALE_RULE('-1')],
    ['lock', { lock: 'yes' }, /lock must be true or false; got "yes"$/],
    ['lockTtl', { lockTtl: 0 }, MS_RULE('lockTtl', '0')],
    ['lockWait', { lockWait: -1 }, MS_RULE('lockWait', '-1')],
  ])('createMemoizer() and configure() validate %s too', (_label, options, message) => {
    expect(() => createMemoizer(options as never)).toThrow(TypeError);
    expect(() => createMemoizer(options as never)).toThrow(message);
    expect(() => createMemoizer().configure(options as never)).toThrow(message);
  });

  test('staleTtl with ttl Infinity is refused however the two meet', () => {
    expect(memoizeWith({ staleTtl: '5s' }, { ttl: Number.POSITIVE_INFINITY })).toThrow(FINITE_TTL);
    expect(memoizeWith({ ttl: Number.POSITIVE_INFINITY }, { staleTtl: '5s' })).toThrow(FINITE_TTL);
    expect(memoizeWith({ ttl: Number.POSITIVE_INFINITY, staleTtl: 0 })).not.toThrow();
  });

  test.each<[string, Record<string, unknown>]>([
    ['staleTtl 0', { staleTtl: 0 }],
    ['staleTtl 30', { staleTtl: 30 }],
    ['staleTtl "5s"', { staleTtl: '5s' }],
    ['staleTtl "200ms"', { staleTtl: '200ms' }],
    ['lock false', { lock: false }],
    ['lockTtl "2s"', { lockTtl: '2s' }],
    ['lockTtl 100', { lockTtl: 100 }],
    ['lockWait "1s"', { lockWait: '1s' }],
  ])('good input: %s in memoize(), createMemoizer() and configure()', (_label, options) => {
    expect(memoizeWith({ ...options, name: `g${Math.random()}`.replace('.', '') })).not.toThrow();
    expect(() => createMemoizer({ store, ...options })).not.toThrow();
    expect(() => createMemoizer({ store }).configure(options)).not.toThrow();
  });
});

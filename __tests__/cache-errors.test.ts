import type { RedisClientType } from 'redis';
import type { MemoizeError } from '../lib/errors';
import { createMemoizer } from '../lib/memoizer';
import type { CallEvent } from '../lib/options';
import { RedisStore } from '../lib/stores/redis/store';
import { connect, deferred, sleep, uniquePrefix, until } from './helpers/redis';

// cacheErrors: errors the function throws, stored like results (opt-in), and rethrown on hits, from
// Redis and from the local tier, and to the callers waiting on the lock.

let client: RedisClientType;
let other: RedisClientType;
beforeAll(async () => {
  [client, other] = await Promise.all([connect(), connect()]);
});
afterAll(async () => {
  await Promise.all([client.quit(), other.quit()]);
});

class NotFoundError extends Error {
  readonly code = 'E_NOT_FOUND';
  readonly detail = 'kept only by the caller that computed';
  constructor(id: number) {
    super(`post ${id} not found`);
    this.name = 'NotFoundError';
  }
}

/** What a promise rejected with; fails if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

function findPost(keyPrefix: string, options: Record<string, unknown> = {}, on = client) {
  const calls = { runs: 0 };
  const memoize = createMemoizer({ client: on, keyPrefix });
  const f = memoize(
    async function findPost(id: number): Promise<string> {
      calls.runs++;
      if (id < 0) throw new TypeError('negative id');
      throw new NotFoundError(id);
    },
    { cacheErrors: (error) => error instanceof NotFoundError, ...options },
  );
  return { f, calls };
}

describe('cacheErrors', () => {
  test('a hit rethrows an Error with the same name, message and code, and cached: true', async () => {
    const { f, calls } = findPost(uniquePrefix('errors'));
    const first = await rejection(f(1));
    expect(first).toBeInstanceOf(NotFoundError);
    expect(first.cached).toBeUndefined();
    const hit = await rejection(f(1));
    expect(calls.runs).toBe(1);
    expect(hit).toBeInstanceOf(Error);
    expect(hit).not.toBeInstanceOf(NotFoundError);
    expect([hit.name, hit.message, hit.code, hit.cached]).toEqual([
      'NotFoundError',
      'post 1 not found',
      'E_NOT_FOUND',
      true,
    ]);
    expect(hit.detail).toBeUndefined();
    expect(hit.stack?.startsWith('NotFoundError: post 1 not found\n')).toBe(true);
  });

  test('errors the predicate refuses are not cached, nor are any without the option', async () => {
    const prefix = uniquePrefix('errors-refused');
    const { f, calls } = findPost(prefix);
    await rejection(f(-1));
    expect(await rejection(f(-1))).toBeInstanceOf(TypeError);
    expect(calls.runs).toBe(2);
    expect(await client.exists(f.keyFor(-1))).toBe(0);
    const memoize = createMemoizer({ client, keyPrefix: `${prefix}-off` });
    let runs = 0;
    const g = memoize(async function g(): Promise<never> {
      runs++;
      throw new NotFoundError(0);
    });
    await rejection(g());
    await rejection(g());
    expect(runs).toBe(2);
  });

  test('errorTtl bounds a cached error (default: the ttl), and it really expires', async () => {
    const prefix = uniquePrefix('errors-ttl');
    const byDefault = findPost(`${prefix}-a`, { ttl: 120 });
    await rejection(byDefault.f(1));
    const pttl = await client.pTTL(byDefault.f.keyFor(1));
    expect(pttl).toBeGreaterThan(119_000);
    expect(pttl).toBeLessThanOrEqual(120_000);
    const short = findPost(`${prefix}-b`, { ttl: 120, errorTtl: '300ms' });
    await rejection(short.f(1));
    expect(await client.pTTL(short.f.keyFor(1))).toBeLessThanOrEqual(300);
    await rejection(short.f(1));
    expect(short.calls.runs).toBe(1);
    await sleep(350);
    await rejection(short.f(1));
    expect(short.calls.runs).toBe(2);
  });

  test('a caller waiting on the lock in another process gets the cached error', async () => {
    const prefix = uniquePrefix('errors-lock');
    const started = deferred<void>();
    const release = deferred<void>();
    let runs = 0;
    const make = (on: RedisClientType) =>
      createMemoizer({ client: on, keyPrefix: prefix })(
        async function slowFind(id: number): Promise<string> {
          runs++;
          started.resolve();
          await release.promise;
          throw new NotFoundError(id);
        },
        { cacheErrors: () => true, lockTtl: 10_000 },
      );
    const holder = make(client);
    const waiterProcess = make(other);
    const computing = rejection(holder(5));
    await started.promise;
    const waiting = rejection(waiterProcess(5));
    await sleep(100);
    release.resolve();
    const [original, waited] = await Promise.all([computing, waiting]);
    expect(original).toBeInstanceOf(NotFoundError);
    expect([waited.name, waited.message, waited.cached]).toEqual(['NotFoundError', 'post 5 not found', true]);
    expect(runs).toBe(1);
  });

  test('callers that joined the computing call in this process get its error', async () => {
    const { f, calls } = findPost(uniquePrefix('errors-flight'));
    const results = await Promise.all([rejection(f(2)), rejection(f(2)), rejection(f(2))]);
    expect(calls.runs).toBe(1);
    for (const error of results) expect(error.message).toBe('post 2 not found');
  });

  // Each hit gets a new rejection; with clone, from the envelope decoded anew.
  test.each([false, true])('a cached error is also rethrown from the local tier (clone: %s)', async (clone) => {
    const store = new RedisStore(client);
    const kinds: string[] = [];
    const memoize = createMemoizer({
      store,
      keyPrefix: uniquePrefix('errors-local'),
      onHit: (e: CallEvent) => kinds.push(e.local === true ? 'local' : 'store'),
    });
    let runs = 0;
    const f = memoize(
      async function localFind(id: number): Promise<string> {
        runs++;
        throw new NotFoundError(id);
      },
      { cacheErrors: () => true, local: true, clone },
    );
    await rejection(f(3));
    // The tier keeps a value once its tracking connection is set up.
    await until(async () => {
      const error = await rejection(f(3));
      expect(error.cached).toBe(true);
      return kinds.includes('local');
    }, 'a hit from the local tier');
    const local = await rejection(f(3));
    expect([local.name, local.message, local.code, local.cached]).toEqual([
      'NotFoundError',
      'post 3 not found',
      'E_NOT_FOUND',
      true,
    ]);
    expect(kinds.at(-1)).toBe('local');
    const again = await rejection(f(3));
    expect(again).not.toBe(local);
    expect(again.message).toBe('post 3 not found');
    expect(runs).toBe(1);
    await store.close();
  });

  test('invalidate removes a cached error', async () => {
    const { f, calls } = findPost(uniquePrefix('errors-invalidate'));
    await rejection(f(4));
    await f.invalidate(4);
    await rejection(f(4));
    expect(calls.runs).toBe(2);
  });

  test('a damaged error envelope is a miss, reported as E_DECODE', async () => {
    const errors: string[] = [];
    const memoize = createMemoizer({
      client,
      keyPrefix: uniquePrefix('errors-damaged'),
      onError: ({ error }) => errors.push(error.code),
    });
    const f = memoize(async function damaged(id: number) {
      return id;
    });
    for (const bytes of ['cm1E{"not":"an array"}', 'cm1E["name"]', 'cm1E["n","m",{}]', 'cm1E[1,"m"]']) {
      await client.set(f.keyFor(1), bytes);
      expect(await f(1)).toBe(1);
    }
    expect(errors).toEqual(['E_DECODE', 'E_DECODE', 'E_DECODE', 'E_DECODE']);
  });

  test('a thrown non-Error is cached as an Error with its text as the message', async () => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('errors-string') });
    const f = memoize(
      async function throwsText(): Promise<never> {
        throw 'quota exceeded';
      },
      { cacheErrors: () => true },
    );
    expect(await rejection(f())).toBe('quota exceeded');
    const hit = await rejection(f());
    expect([hit.name, hit.message, hit.cached, 'code' in hit]).toEqual(['Error', 'quota exceeded', true, false]);
  });

  test('a cacheErrors that throws is reported as E_SHOULD_CACHE, and the error is not cached', async () => {
    const errors: MemoizeError[] = [];
    const memoize = createMemoizer({
      client,
      keyPrefix: uniquePrefix('errors-throws'),
      onError: ({ error }) => errors.push(error),
    });
    let runs = 0;
    const f = memoize(
      async function f(): Promise<never> {
        runs++;
        throw new NotFoundError(0);
      },
      {
        cacheErrors: () => {
          throw new Error('predicate bug');
        },
      },
    );
    expect(await rejection(f())).toBeInstanceOf(NotFoundError);
    await rejection(f());
    expect(runs).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(['E_SHOULD_CACHE', 'E_SHOULD_CACHE']);
    expect((errors[0]!.cause as Error).message).toBe('predicate bug');
  });

  test('options: cacheErrors must be a function, and errorTtl needs it', () => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('errors-options') });
    const fn = async function opt() {};
    expect(() => memoize(fn, { cacheErrors: true as never })).toThrow(/cacheErrors must be a function, got true$/);
    expect(() => memoize(fn, { errorTtl: 5 })).toThrow(/errorTtl only applies to cached errors; set cacheErrors too/);
    expect(() => memoize(fn, { cacheErrors: () => true, errorTtl: '5 s' as never })).toThrow(
      /errorTtl must be a number of seconds .*; got "5 s"$/,
    );
  });
});

describe('cacheErrors with tags', () => {
  /** A tagged findPost whose errors are cached, in two "processes" (two clients, two memoizers). */
  function taggedFindPost(keyPrefix: string, tags: unknown, local = false) {
    const calls = { runs: 0, localHits: 0 };
    const make = (on: RedisClientType) => {
      const onHit = (e: CallEvent) => void (e.local === true && calls.localHits++);
      const memoize = createMemoizer({ store: new RedisStore(on), keyPrefix, onHit });
      const f = memoize(
        async function findPost(id: number): Promise<{ id: number; keywords: string[] }> {
          calls.runs++;
          throw new NotFoundError(id);
        },
        {
          cacheErrors: (error) => error instanceof NotFoundError,
          tags: tags as readonly string[],
          ...(local && { local: true }),
        },
      );
      return { memoize, f };
    };
    return { here: make(client), there: make(other), calls };
  }

  test('a fixed tag list: the error is a hit everywhere, and invalidateTags of its tag ends it', async () => {
    const prefix = uniquePrefix('errors-tags');
    const tag = `${prefix}:posts`;
    const { here, there, calls } = taggedFindPost(prefix, [tag]);
    expect(await rejection(here.f(1))).toBeInstanceOf(NotFoundError);
    const hit = await rejection(there.f(1));
    expect(hit).toMatchObject({ name: 'NotFoundError', code: 'E_NOT_FOUND', cached: true });
    expect(calls.runs).toBe(1);
    await there.memoize.invalidateTags([tag]);
    expect(await rejection(here.f(1))).toBeInstanceOf(NotFoundError);
    expect(calls.runs).toBe(2);
    // Another tag leaves it.
    await there.memoize.invalidateTags([`${prefix}:other`]);
    expect((await rejection(here.f(1))).cached).toBe(true);
    expect(calls.runs).toBe(2);
  });

  test('a fixed tag list with the local tier: invalidateTags elsewhere evicts the local copy', async () => {
    const prefix = uniquePrefix('errors-tags-local');
    const tag = `${prefix}:posts`;
    const { here, there, calls } = taggedFindPost(prefix, [tag], true);
    await rejection(here.f(1));
    await until(async () => {
      const served = await rejection(here.f(1));
      return served.cached === true && calls.localHits > 0;
    }, 'the error is served from the local tier');
    const runs = calls.runs;
    await there.memoize.invalidateTags([tag]);
    await until(async () => {
      await rejection(here.f(1));
      return calls.runs > runs;
    }, 'the tag change reaches this process');
  });

  test('a tags function: the error carries no tags; it is a hit until invalidate', async () => {
    const prefix = uniquePrefix('errors-tags-fn');
    const { here, there, calls } = taggedFindPost(prefix, (post: { keywords: string[] }) =>
      post.keywords.map((k) => `${prefix}:${k}`),
    );
    await rejection(here.f(1));
    expect((await rejection(there.f(1))).cached).toBe(true);
    await there.memoize.invalidateTags([`${prefix}:redis`]);
    expect((await rejection(here.f(1))).cached).toBe(true);
    expect(calls.runs).toBe(1);
    await there.f.invalidate(1);
    await rejection(here.f(1));
    expect(calls.runs).toBe(2);
  });
});

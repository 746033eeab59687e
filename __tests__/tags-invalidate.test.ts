import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import type { Store } from '../lib/stores/store';
import { connect, deferred, uniquePrefix } from './helpers/redis';
import { bothStores } from './helpers/stores';

// invalidateTags invalidates exactly the entries that carry one of the tags, of every function over
// the store, including one whose computation began before the call and writes after it.

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

describe.each(bothStores(() => client))('invalidateTags over %s', (_name, makeStore) => {
  let store: Store;
  let memoize: ReturnType<typeof createMemoizer>;
  let tag: (name: string) => string;
  beforeEach(() => {
    store = makeStore();
    const prefix = uniquePrefix('tags');
    memoize = createMemoizer({ store, keyPrefix: prefix });
    // Tags are shared by the whole store: each test has its own.
    tag = (name) => `${prefix}:${name}`;
  });
  afterEach(async () => {
    await store.close?.();
  });

  test('invalidates the entries carrying a tag, in every function, and no others', async () => {
    const runs = { posts: 0, related: 0, users: 0 };
    const posts = memoize(
      async function posts(id: number) {
        runs.posts++;
        return { id, keywords: id === 1 ? ['redis', 'node'] : ['rust'] };
      },
      { tags: (post) => post.keywords.map((k) => tag(k)) },
    );
    const related = memoize(
      async function related(id: number) {
        runs.related++;
        return [id + 1];
      },
      { tags: [tag('redis')] },
    );
    const users = memoize(
      async function users(id: number) {
        runs.users++;
        return id;
      },
      { tags: [tag('users')] },
    );
    for (let round = 0; round < 2; round++) await Promise.all([posts(1), posts(2), related(1), users(1)]);
    expect(runs).toEqual({ posts: 2, related: 1, users: 1 });

    await memoize.invalidateTags([tag('redis')]);
    await Promise.all([posts(1), posts(2), related(1), users(1)]);
    expect(runs).toEqual({ posts: 3, related: 2, users: 1 });

    await memoize.invalidateTags([tag('rust'), tag('nothing carries this')]);
    await Promise.all([posts(1), posts(2), related(1), users(1)]);
    expect(runs).toEqual({ posts: 4, related: 2, users: 1 });
  });

  test('a computation that began before invalidateTags cannot be read after it resolved', async () => {
    let version = 1;
    const gate = deferred<void>();
    const started = deferred<void>();
    const f = memoize(
      async function slow() {
        const seen = version;
        started.resolve();
        await gate.promise;
        return seen;
      },
      { tags: [tag('data')], lock: false },
    );
    const early = f();
    await started.promise;
    version = 2;
    await memoize.invalidateTags([tag('data')]);
    gate.resolve();
    // Its own caller gets what it computed; nobody after the invalidation does.
    expect(await early).toBe(1);
    expect(await f()).toBe(2);
    expect(await f()).toBe(2);
  });

  test('a value written before invalidateTags is not found by a miss that begins after it', async () => {
    let runs = 0;
    const f = memoize(
      async function counted(n: number) {
        runs++;
        return n + runs;
      },
      { tags: [tag('a'), tag('b')] },
    );
    expect(await f(1)).toBe(2);
    await memoize.invalidateTags([tag('b')]);
    expect(await f(1)).toBe(3);
    expect(await f(1)).toBe(3);
    expect(runs).toBe(2);
  });

  test('untagged entries are left alone', async () => {
    let runs = 0;
    const f = memoize(async function plain() {
      runs++;
      return runs;
    });
    await f();
    await memoize.invalidateTags([tag('a')]);
    expect(await f()).toBe(1);
  });
});

import { performance } from 'node:perf_hooks';
import type { RedisClientType } from 'redis';
import { TAG_KEY_PREFIX, tagKey } from '../lib/key';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import type { TaggedValue, Tracking } from '../lib/stores/store';
import { connect, deferred, uniquePrefix, until } from './helpers/redis';
import { throughTracking } from './helpers/stores';

// The local tier of a tagged function: a tag invalidated anywhere evicts the local values carrying
// it, soon after invalidateTags resolves (the bound asserted here is the issue's, p99 under 10 ms on
// loopback); in the calling process before it resolves; and a read in flight across the change is
// not kept. Two clients stand for two processes: each has its own tracking connection.

let a: RedisClientType;
let b: RedisClientType;
beforeAll(async () => {
  [a, b] = await Promise.all([connect(), connect()]);
});
afterAll(async () => {
  await Promise.allSettled([a.quit(), b.quit()]);
});

/** A tagged local function over `store`, counting computations and local hits. */
function tagged(store: RedisStore, keyPrefix: string, tags: (id: number) => string[]) {
  const seen = { computes: 0, localHits: 0 };
  const memoize = createMemoizer({ store, keyPrefix, onHit: (e) => void (e.local === true && seen.localHits++) });
  const f = memoize(
    async function target(id: number) {
      seen.computes++;
      return { id, n: seen.computes };
    },
    { local: true, tags: (_r, id) => tags(id) },
  );
  return { memoize, f, seen };
}

/** Calls until a call is a local hit. */
async function untilLocal(p: ReturnType<typeof tagged>, id: number): Promise<void> {
  await until(async () => {
    const before = p.seen.localHits;
    await p.f(id);
    return p.seen.localHits > before;
  }, `a local hit of ${id}`);
}

test('invalidateTags in this process evicts before it resolves; other entries stay local', async () => {
  const prefix = uniquePrefix('tags-local');
  const p = tagged(new RedisStore(a), prefix, (id) => [`${prefix}:${id % 2}`]);
  await p.f(1);
  await p.f(2);
  await untilLocal(p, 1);
  await untilLocal(p, 2);
  await p.memoize.invalidateTags([`${prefix}:1`]);
  const computes = p.seen.computes;
  expect(await p.f(1)).toEqual({ id: 1, n: computes + 1 });
  const hits = p.seen.localHits;
  await p.f(2);
  expect(p.seen.localHits).toBe(hits + 1);
});

test('invalidateTags elsewhere evicts local values carrying the tag: p99 under 10 ms after it resolves', async () => {
  const prefix = uniquePrefix('tags-local-p99');
  const storeA = new RedisStore(a);
  const here = tagged(storeA, prefix, (id) => [`${prefix}:${id}`, `${prefix}:all`]);
  const elsewhere = createMemoizer({ store: new RedisStore(b), keyPrefix: prefix });
  // Hears the tag keys on the tier's own tracking connection, in the order the tier does.
  const heard = new Map<string, number>();
  const tracking = storeA.tracking();
  const stop = tracking?.watch(TAG_KEY_PREFIX, (key) => {
    if (key !== null && !heard.has(key)) heard.set(key, performance.now());
  });
  const delays: number[] = [];
  try {
    for (let id = 0; id < 100; id++) {
      await here.f(id);
      await untilLocal(here, id);
      await elsewhere.invalidateTags([`${prefix}:${id}`]);
      const resolved = performance.now();
      await until(() => heard.has(tagKey(`${prefix}:${id}`)), `the change of tag ${id}`, 2000);
      delays.push(Math.max(0, (heard.get(tagKey(`${prefix}:${id}`)) as number) - resolved));
      const computes = here.seen.computes;
      expect(await here.f(id)).toEqual({ id, n: computes + 1 });
    }
  } finally {
    stop?.();
  }
  delays.sort((x, y) => x - y);
  const p99 = delays[Math.ceil(delays.length * 0.99) - 1] as number;
  expect(p99).toBeLessThan(10);
});

test('a read in flight across a tag change is not kept by the local tier', async () => {
  const prefix = uniquePrefix('tags-local-flight');
  let hold: Promise<void> | undefined;
  const answered = deferred<void>();
  const held = async <T>(found: T): Promise<T> => {
    if (hold !== undefined) {
      answered.resolve();
      await hold;
    }
    return found;
  };
  // The local tier reads through the store's tracking when it hears only the keys read there (one
  // node-redis server); either way, the held read is the one the tier would keep.
  const wrapped = new WeakMap<Tracking, Tracking>();
  class HeldStore extends RedisStore {
    override async getTagged(key: string): Promise<TaggedValue | undefined> {
      return held(await super.getTagged(key));
    }
    override tracking(): Tracking | undefined {
      const inner = super.tracking();
      if (inner?.readTagged === undefined) return inner;
      let t = wrapped.get(inner);
      if (t === undefined) {
        t = throughTracking(inner, async (work) => held(await work()));
        wrapped.set(inner, t);
      }
      return t;
    }
  }
  const store = new HeldStore(a);
  const here = tagged(store, prefix, () => [`${prefix}:t`]);
  const elsewhere = createMemoizer({ store: new RedisStore(b), keyPrefix: prefix });
  // A value in Redis, but not yet local: this process's tier did not see it written.
  await createMemoizer({ store: new RedisStore(b), keyPrefix: prefix })(
    async function target(id: number) {
      return { id, n: 0 };
    },
    { tags: [`${prefix}:t`] },
  )(1);
  // Another entry makes the tier watch, and become local, so the tracking is in place.
  await here.f(2);
  await untilLocal(here, 2);
  expect(store.tracking()?.covers(TAG_KEY_PREFIX)).toBe(true);
  const gate = deferred<void>();
  hold = gate.promise;
  const read = here.f(1);
  await answered.promise;
  await elsewhere.invalidateTags([`${prefix}:t`]);
  // The change reaches this process's tracking before the held answer is let go.
  await new Promise((resolve) => setTimeout(resolve, 50));
  hold = undefined;
  gate.resolve();
  expect(await read).toEqual({ id: 1, n: 0 });
  const hits = here.seen.localHits;
  const computes = here.seen.computes;
  expect(await here.f(1)).toEqual({ id: 1, n: computes + 1 });
  expect(here.seen.localHits).toBe(hits);
});

test('writes of other entries carrying the same tag do not evict local values', async () => {
  const prefix = uniquePrefix('tags-local-writes');
  const here = tagged(new RedisStore(a), prefix, () => [`${prefix}:shared`]);
  const elsewhere = tagged(new RedisStore(b), prefix, () => [`${prefix}:shared`]);
  await here.f(1);
  await untilLocal(here, 1);
  // Each miss elsewhere writes an entry with the tag, and makes the tag key live long enough for it.
  for (let id = 2; id < 8; id++) {
    await elsewhere.f(id);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const hits = here.seen.localHits;
  await here.f(1);
  expect(here.seen.localHits).toBe(hits + 1);
});

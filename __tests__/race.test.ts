import type { RedisClientType } from 'redis';
import { tokenKeyOf } from '../lib/key';
import { createMemoizer, type Memoize } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import type { Store } from '../lib/stores/store';
import { connect, deferred, sleep, uniquePrefix } from './helpers/redis';
import { bothStores } from './helpers/stores';

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

/** A function whose every run waits for the test to release it with a value. */
function stepped() {
  const runs: Array<ReturnType<typeof deferred<string>>> = [];
  const fn = async function stepped(_id: number) {
    const run = deferred<string>();
    runs.push(run);
    return run.promise;
  };
  return { fn, runs };
}

async function untilRuns(runs: unknown[], n: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (runs.length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} runs, saw ${runs.length}`);
    await sleep(1);
  }
}

describe.each(bothStores(() => client))('race safety over %s', (_name, makeStore) => {
  let store: Store;
  let memoize: Memoize;
  beforeEach(() => {
    store = makeStore();
    memoize = createMemoizer({ store, keyPrefix: uniquePrefix('race') });
  });

  test('a computation that began before invalidate() cannot store its result after it', async () => {
    const { fn, runs } = stepped();
    const f = memoize(fn);
    const before = f(1);
    await untilRuns(runs, 1);
    await f.invalidate(1);
    const after = f(1); // must not join the old computation
    await untilRuns(runs, 2);
    runs[0]!.resolve('stale');
    expect(await before).toBe('stale'); // its own caller still gets it
    expect(await store.get(f.keyFor(1))).toBeNull();
    runs[1]!.resolve('fresh');
    expect(await after).toBe('fresh');
    expect(await f(1)).toBe('fresh');
  });

  test('... nor after refresh(), whichever finishes first', async () => {
    const { fn, runs } = stepped();
    const f = memoize(fn);
    const before = f(1);
    await untilRuns(runs, 1);
    const refreshed = f.refresh(1);
    await untilRuns(runs, 2);
    const joined = f(1); // joins the refresh, not the old computation
    runs[1]!.resolve('fresh');
    expect(await refreshed).toBe('fresh');
    runs[0]!.resolve('stale');
    expect(await before).toBe('stale');
    expect(await joined).toBe('fresh');
    expect(await f(1)).toBe('fresh');
    expect(runs).toHaveLength(2);
  });

  test('... nor after invalidateAll()', async () => {
    const { fn, runs } = stepped();
    const f = memoize(fn);
    const before = [f(1), f(2)];
    await untilRuns(runs, 2);
    await f.invalidateAll();
    runs[0]!.resolve('stale-1');
    runs[1]!.resolve('stale-2');
    await Promise.all(before);
    expect(await store.get(f.keyFor(1))).toBeNull();
    expect(await store.get(f.keyFor(2))).toBeNull();
  });

  test('randomized: no read returns a value older than the last completed invalidation', async () => {
    // Two memoizers over one store stand for two processes, each with its own single-flight. The
    // "database" is a counter per id; a writer bumps it, then invalidates or refreshes through one of
    // them. A call that starts after that returns must not get an older version through the same
    // memoizer, and the store itself must never hold an older version again, whoever reads it.
    const prefix = uniquePrefix('race-random');
    const twins = [createMemoizer({ store, keyPrefix: prefix }), createMemoizer({ store, keyPrefix: prefix })];
    const ids = [0, 1, 2];
    const db = ids.map(() => 0);
    const committed = twins.map(() => ids.map(() => 0)); // per memoizer
    const stored = ids.map(() => 0); // by anyone
    const read = async function read(id: number) {
      const version = db[id]!;
      await sleep(Math.random() * 4);
      return version;
    };
    const views = twins.map((m) => m(read, { ttl: 60 }));
    let reads = 0;
    const violations: string[] = [];
    const worker = async (ops: number) => {
      for (let i = 0; i < ops; i++) {
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        const which = Math.floor(Math.random() * views.length);
        const view = views[which]!;
        const roll = Math.random();
        if (roll < 0.15) {
          const version = ++db[id]!;
          if (roll < 0.1) await view.invalidate(id);
          else await view.refresh(id);
          committed[which]![id] = Math.max(committed[which]![id]!, version);
          stored[id] = Math.max(stored[id]!, version);
        } else if (roll < 0.25) {
          const floor = stored[id]!;
          const raw = await store.get(view.keyFor(id));
          const got = raw == null ? undefined : Number(raw.slice(4));
          if (got !== undefined && got < floor) violations.push(`store holds ${got} for ${id} after ${floor}`);
        } else {
          const floor = committed[which]![id]!;
          const got = await view(id);
          reads++;
          if (got < floor) violations.push(`memoizer ${which} read ${got} for ${id} after ${floor}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, () => worker(150)));
    expect(violations).toEqual([]);
    expect(reads).toBeGreaterThan(2000);
  });

  test('a caller joining a computation that an invalidation elsewhere defeated computes afresh', async () => {
    const prefix = uniquePrefix('race-join');
    const here = createMemoizer({ store, keyPrefix: prefix });
    const there = createMemoizer({ store, keyPrefix: prefix });
    const { fn, runs } = stepped();
    const f = here(fn);
    const old = f(1);
    await untilRuns(runs, 1);
    await there(fn).invalidate(1); // another process: this one's single-flight cannot know
    const joined = f(1);
    runs[0]!.resolve('stale');
    expect(await old).toBe('stale');
    await untilRuns(runs, 2);
    runs[1]!.resolve('fresh');
    expect(await joined).toBe('fresh');
    expect(await f(1)).toBe('fresh');
  });
});

describe('race safety across clients (two processes on one Redis)', () => {
  test('an invalidate through another connection defeats a computation in flight', async () => {
    const prefix = uniquePrefix('race-clients');
    const here = createMemoizer({ store: new RedisStore(client), keyPrefix: prefix });
    const there = createMemoizer({ store: new RedisStore(otherClient), keyPrefix: prefix });
    const { fn, runs } = stepped();
    const f = here(fn);
    const g = there(fn);
    const pending = f(9);
    await untilRuns(runs, 1);
    await g.invalidate(9);
    runs[0]!.resolve('stale');
    await pending;
    expect(await client.exists(f.keyFor(9))).toBe(0);
  });

  test('a Redis that lost its data (restart) refuses the write of a computation that began before', async () => {
    const prefix = uniquePrefix('race-flush');
    const memoize = createMemoizer({ client, keyPrefix: prefix });
    const { fn, runs } = stepped();
    const f = memoize(fn);
    const pending = f(3);
    await untilRuns(runs, 1);
    // What a restart leaves behind for this entry: nothing. (Fault tests restart real servers.)
    await client.unlink([f.keyFor(3), tokenKeyOf(f.keyFor(3))]);
    runs[0]!.resolve('from before');
    await pending;
    expect(await client.exists(f.keyFor(3))).toBe(0);
  });
});

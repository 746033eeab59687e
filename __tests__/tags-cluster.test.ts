import calculateSlot from 'cluster-key-slot';
import { tagKey } from '../lib/key';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { type Connected, connectTo, deployment } from './helpers/deployments';
import { deferred, uniquePrefix } from './helpers/redis';

// Tags on the run's Redis Cluster (3 masters), where an entry's keys and its tags' keys live in
// different slots, so no script sees both: two connections stand for two processes.

let a: Connected;
let b: Connected;
beforeAll(async () => {
  const d = deployment('node-redis cluster');
  [a, b] = await Promise.all([connectTo(d), connectTo(d)]);
});
afterAll(async () => {
  await Promise.allSettled([a?.close(), b?.close()]);
});

describe('tags on a Redis Cluster', () => {
  let prefix: string;
  let tag: (name: string) => string;
  let here: ReturnType<typeof createMemoizer>;
  let there: ReturnType<typeof createMemoizer>;
  beforeEach(() => {
    prefix = uniquePrefix('tags-cluster');
    tag = (name) => `${prefix}:${name}`;
    here = createMemoizer({ store: new RedisStore(a.client), keyPrefix: prefix });
    there = createMemoizer({ store: new RedisStore(b.client), keyPrefix: prefix });
  });

  test('an entry and its tags live in different slots, and invalidateTags elsewhere reaches it', async () => {
    let runs = 0;
    const f = here(
      async function byId(id: number) {
        runs++;
        return { id, runs };
      },
      { tags: (r) => [tag(`id:${r.id}`), tag('all')] },
    );
    const slots = new Set([
      calculateSlot(f.keyFor(1)),
      calculateSlot(tagKey(tag('id:1'))),
      calculateSlot(tagKey(tag('all'))),
    ]);
    expect(slots.size).toBe(3);
    expect(await f(1)).toEqual({ id: 1, runs: 1 });
    expect(await f(1)).toEqual({ id: 1, runs: 1 });
    await there.invalidateTags([tag('all')]);
    expect(await f(1)).toEqual({ id: 1, runs: 2 });
    expect(await f(1)).toEqual({ id: 1, runs: 2 });
  });

  test('a computation that began before invalidateTags elsewhere is not read after it resolved', async () => {
    let version = 1;
    const gate = deferred<void>();
    const started = deferred<void>();
    const f = here(
      async function slow() {
        const seen = version;
        started.resolve();
        await gate.promise;
        return seen;
      },
      { tags: [tag('data')], lock: false },
    );
    const g = there(
      async function slow() {
        return version;
      },
      { tags: [tag('data')], lock: false },
    );
    const early = f();
    await started.promise;
    version = 2;
    await there.invalidateTags([tag('data')]);
    gate.resolve();
    expect(await early).toBe(1);
    expect(await g()).toBe(2);
    expect(await f()).toBe(2);
  });

  test('a tag key that is gone (evicted, flushed) makes its entries invalid: a miss, never a stale value', async () => {
    let runs = 0;
    const f = here(
      async function counted() {
        return ++runs;
      },
      { tags: [tag('gone')] },
    );
    expect(await f()).toBe(1);
    expect(await f()).toBe(1);
    await (a.client as unknown as { del(key: string): Promise<number> }).del(tagKey(tag('gone')));
    expect(await f()).toBe(2);
    expect(await f()).toBe(2);
  });

  test('a tagged hit is one script on the entry’s slot, then the tag keys read in parallel', async () => {
    const f = here(
      async function hit() {
        return 'v';
      },
      { tags: [tag('1'), tag('2'), tag('3'), tag('4'), tag('5')] },
    );
    await f();
    const client = a.client as unknown as Record<'get' | 'evalSha', (...args: unknown[]) => Promise<unknown>>;
    const log: string[] = [];
    const originals = { get: client.get, evalSha: client.evalSha };
    for (const name of ['get', 'evalSha'] as const) {
      const original = originals[name];
      client[name] = function (this: unknown, ...args: unknown[]) {
        log.push(`send ${name}`);
        return original.apply(this, args).finally(() => log.push(`answer ${name}`));
      };
    }
    try {
      expect(await f()).toBe('v');
    } finally {
      Object.assign(client, originals);
    }
    // Two round trips: the script, then all five tag keys sent before any answer.
    expect(log.slice(0, 2)).toEqual(['send evalSha', 'answer evalSha']);
    expect(log.slice(2, 7)).toEqual(Array(5).fill('send get'));
    expect(log.slice(7)).toEqual(Array(5).fill('answer get'));
  });
});

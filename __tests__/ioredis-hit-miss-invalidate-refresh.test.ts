import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { createMemoizer } from '../lib';
import type { CallEvent } from '../lib/options';
import { ioredisClient, ioredisCluster } from './helpers/ioredis';
import { uniquePrefix } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';

// A memoized function over an ioredis Redis and an ioredis Cluster: a miss computes and stores, a hit
// reads without computing, invalidate() makes the next call compute, refresh() recomputes and stores
// at once. Arguments land in different hash slots, so over the cluster they live on several masters.

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

describe.each<[string, () => Promise<Redis | Cluster>]>([
  ['an ioredis Redis', () => ioredisClient()],
  ['an ioredis Cluster (3 masters)', () => ioredisCluster(cluster)],
])('over %s', (_kind, connect) => {
  let client: Redis | Cluster;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client?.disconnect());

  /** A memoized `load(id)` whose runs are counted, and the hooks it fired. */
  function memoized() {
    const hits: CallEvent[] = [];
    const misses: CallEvent[] = [];
    const runs = new Map<number, number>();
    const memoize = createMemoizer({
      client,
      keyPrefix: uniquePrefix('io-basic'),
      onHit: (e) => hits.push(e),
      onMiss: (e) => misses.push(e),
    });
    const f = memoize(async function load(id: number) {
      const run = (runs.get(id) ?? 0) + 1;
      runs.set(id, run);
      return { id, run };
    }, '1m');
    return { f, hits, misses, runs };
  }

  const ids = Array.from({ length: 12 }, (_, i) => i);

  test('a miss computes and stores; the next calls hit without computing, one entry per argument', async () => {
    const { f, hits, misses, runs } = memoized();
    for (const id of ids) expect(await f(id)).toEqual({ id, run: 1 });
    expect(misses).toHaveLength(ids.length);
    for (const id of ids) expect(await f(id)).toEqual({ id, run: 1 });
    expect(hits).toHaveLength(ids.length);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    // One key at a time: over the cluster the entries are in different slots.
    const stored = await Promise.all(ids.map((id) => client.exists(f.keyFor(id))));
    expect(stored).toEqual(ids.map(() => 1));
  });

  test('invalidate(args) makes the next call for those arguments compute; other entries still hit', async () => {
    const { f, hits } = memoized();
    for (const id of ids) await f(id);
    await f.invalidate(3);
    expect(await client.exists(f.keyFor(3))).toBe(0);
    expect(await f(3)).toEqual({ id: 3, run: 2 });
    hits.length = 0;
    for (const id of ids.filter((i) => i !== 3)) expect(await f(id)).toEqual({ id, run: 1 });
    expect(hits).toHaveLength(ids.length - 1);
  });

  test('refresh(args) recomputes and stores at once; the next call hits the new value', async () => {
    const { f, hits } = memoized();
    for (const id of ids) await f(id);
    expect(await f.refresh(5)).toEqual({ id: 5, run: 2 });
    hits.length = 0;
    expect(await f(5)).toEqual({ id: 5, run: 2 });
    expect(hits).toHaveLength(1);
  });
});

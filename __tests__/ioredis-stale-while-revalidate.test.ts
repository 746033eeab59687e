import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { createMemoizer } from '../lib';
import type { CallEvent } from '../lib/options';
import { ioredisClient, ioredisCluster } from './helpers/ioredis';
import { deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';

// Stale-while-revalidate over an ioredis Redis and an ioredis Cluster: past its ttl an entry is served
// stale at once while one background refresh (under the cross-process lock) replaces it; after
// invalidate() no stale value is served.

const QUICK_MS = 250;

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

// A background refresh must never leave a rejection nobody handles.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));
afterEach(() => expect(unhandled).toEqual([]));

/** A function whose runs are counted; a run waits for the `gate` current when it starts. */
function counted() {
  const state = { runs: 0, gate: Promise.resolve() };
  async function load(id: string): Promise<string> {
    const run = ++state.runs;
    await state.gate;
    return `${id}#${run}`;
  }
  return { state, load };
}

describe.each<[string, () => Promise<Redis | Cluster>]>([
  ['an ioredis Redis', () => ioredisClient()],
  ['an ioredis Cluster (3 masters)', () => ioredisCluster(cluster)],
])('over %s', (_kind, connect) => {
  let client: Redis | Cluster;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client?.disconnect());

  test('after ttl: the stale value at once (stale: true), one background refresh for 30 callers, then the fresh value', async () => {
    const { state, load } = counted();
    const hits: CallEvent[] = [];
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('io-swr') });
    const f = memoize(load, { ttl: '200ms', staleTtl: '5s', onHit: (e) => hits.push(e) });
    expect(await f('a')).toBe('a#1');
    await sleep(300);

    const held = deferred<void>();
    state.gate = held.promise;
    for (let wave = 0; wave < 3; wave++) {
      const started = performance.now();
      const values = await Promise.all(Array.from({ length: 10 }, () => f('a')));
      expect(values).toEqual(Array(10).fill('a#1'));
      expect(performance.now() - started).toBeLessThan(QUICK_MS);
    }
    expect(hits.length).toBeGreaterThanOrEqual(3);
    for (const hit of hits) expect(hit.stale).toBe(true);
    await until(() => state.runs >= 2, 'the background refresh to start');
    await sleep(100); // room for a wrong second refresh to start
    expect(state.runs).toBe(2);

    held.resolve();
    await until(async () => (await f('a')) === 'a#2', 'the refreshed value to be served');
    hits.length = 0;
    expect(await f('a')).toBe('a#2');
    expect(hits[0]?.stale).toBeUndefined();
    expect(state.runs).toBe(2);
  });

  test('after invalidate no stale value is served: the next call computes and waits', async () => {
    const { state, load } = counted();
    const hits: CallEvent[] = [];
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('io-swr-inv') });
    const f = memoize(load, { ttl: '200ms', staleTtl: '5s', onHit: (e) => hits.push(e) });
    expect(await f('a')).toBe('a#1');
    await sleep(300);
    await f.invalidate('a');
    expect(await f('a')).toBe('a#2');
    expect(hits).toEqual([]);
    expect(state.runs).toBe(2);
  });
});

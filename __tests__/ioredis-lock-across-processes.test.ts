import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import type { ChildValue, SetupCommand } from './fixtures/ioredis-child';
import { ioredisClient, ioredisCluster } from './helpers/ioredis';
import { connectionTo, counterKeyOf, IoredisChild } from './helpers/ioredis-processes';
import { testRedisUrl, uniquePrefix } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';

// The cross-process compute lock over ioredis: forked processes, each with its own ioredis client,
// call one memoized function on one cold key at the same moment; the function runs once in all.

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

describe.each<[string, () => Promise<Redis | Cluster>, () => string | RedisCluster]>([
  ['an ioredis Redis', () => ioredisClient(), () => testRedisUrl()],
  ['an ioredis Cluster (3 masters)', () => ioredisCluster(cluster), () => cluster],
])('over %s', (_kind, connect, target) => {
  let client: Redis | Cluster;
  let children: IoredisChild[] = [];
  beforeAll(async () => {
    client = await connect();
    children = Array.from({ length: 4 }, () => new IoredisChild(connectionTo(target())));
    await Promise.all(children.map((c) => c.ready));
  }, 20_000);
  afterAll(async () => {
    await Promise.all(children.map((c) => c.quit()));
    client?.disconnect();
  });

  /** Every child set up on one new key space (the barrier), then 25 concurrent calls each on one cold key. */
  async function stampede(options: SetupCommand['options']) {
    const keyPrefix = uniquePrefix('io-lock');
    await Promise.all(children.map((c) => c.setup({ keyPrefix, computeMs: 200, options })));
    const replies = await Promise.all(children.map((c) => c.ask({ op: 'burst', arg: 1, calls: 25 })));
    const values = replies.flatMap((r) => r.values as ChildValue[]);
    return { values, executions: Number(await client.get(counterKeyOf(keyPrefix))) };
  }

  test('4 processes x 25 concurrent calls on a cold key: fn runs once, every call gets its value', async () => {
    const { values, executions } = await stampede({});
    expect(values).toHaveLength(100);
    expect(executions).toBe(1);
    expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1);
  });

  test('the same stampede with lock: false runs fn in several processes (the check above can fail)', async () => {
    const { values, executions } = await stampede({ lock: false });
    expect(values).toHaveLength(100);
    expect(executions).toBeGreaterThanOrEqual(2);
  });
});

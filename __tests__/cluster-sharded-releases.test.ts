import { performance } from 'node:perf_hooks';
import { createClient, createCluster, type RedisClusterType } from 'redis';
import { createMemoizer } from '../lib';
import { deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';

// On a Redis Cluster of Redis 7, lock releases are announced with sharded pub/sub: SPUBLISH on a
// channel in the entry's own slot, heard by the waiters of that entry only, instead of PUBLISH on
// one channel that every node relays to every subscriber. A waiter still wakes as soon as the
// holder releases, not at its next poll.

let redisCluster: RedisCluster;
let holderCluster: RedisClusterType;
let waiterCluster: RedisClusterType;

async function connected(): Promise<RedisClusterType> {
  const cluster: RedisClusterType = createCluster({ rootNodes: redisCluster.rootNodes });
  cluster.on('error', () => {});
  await cluster.connect();
  return cluster;
}

/** `PUBSUB <subcommand> <channel>` summed over every master. */
async function subscribers(subcommand: 'NUMSUB' | 'SHARDNUMSUB', channel: string): Promise<number> {
  let total = 0;
  for (const master of await redisCluster.masters()) {
    const client = createClient({ url: master.url });
    client.on('error', () => {});
    await client.connect();
    try {
      const reply = (await client.sendCommand(['PUBSUB', subcommand, channel])) as unknown[];
      total += Number(reply[1]);
    } finally {
      client.destroy();
    }
  }
  return total;
}

beforeAll(async () => {
  redisCluster = await spawnRedisCluster({ masters: 3 });
  [holderCluster, waiterCluster] = await Promise.all([connected(), connected()]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([holderCluster?.close(), waiterCluster?.close()]);
  await redisCluster?.stop();
});

test('a waiter hears the release on its entry’s sharded channel at once; nobody listens on the broadcast channel', async () => {
  const keyPrefix = uniquePrefix('sharded');
  const computing = deferred<void>();
  const finish = deferred<void>();
  let waiterRan = 0;
  const holder = createMemoizer({ client: holderCluster, keyPrefix, lockTtl: '10s' })(async function value(
    _id: number,
  ) {
    computing.resolve();
    await finish.promise;
    return 'from the holder';
  });
  const waiter = createMemoizer({ client: waiterCluster, keyPrefix, lockTtl: '10s' })(async function value(
    _id: number,
  ) {
    waiterRan++;
    return 'from the waiter';
  });
  const channel = `cache-memoize:released:${holder.keyFor(1).slice(holder.keyFor(1).lastIndexOf('{'))}`;

  // Once the stores know the masters speak sharded pub/sub, they leave the broadcast channel.
  await until(async () => (await subscribers('NUMSUB', 'cache-memoize:released')) === 0, 'no broadcast listener');
  const held = holder(1);
  await computing.promise;
  const waiting = waiter(1);
  await until(async () => (await subscribers('SHARDNUMSUB', channel)) === 1, 'the waiter on the entry channel');
  // Longer than a poll (250 ms): only the announcement can wake the waiter this early.
  await sleep(300);
  const released = performance.now();
  finish.resolve();
  await held;
  expect(await waiting).toBe('from the holder');
  expect(performance.now() - released).toBeLessThan(200);
  expect(waiterRan).toBe(0);
}, 30_000);

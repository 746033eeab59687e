import { type RedisCluster, spawnRedisCluster } from './redis-cluster';
import { type SentinelGroup, spawnSentinelGroup } from './redis-sentinel';
import { type RedisServer, spawnRedis } from './redis-server';

declare global {
  var __CACHE_MEMOIZE_REDIS__: RedisServer | undefined;
  var __CACHE_MEMOIZE_CLUSTER__: RedisCluster | undefined;
  var __CACHE_MEMOIZE_SENTINEL__: SentinelGroup | undefined;
}

/**
 * The run's shared servers, each started once: one redis-server (or CACHE_MEMOIZE_TEST_REDIS_URL),
 * a Redis Cluster of 3 masters, and a Sentinel group (a master, a replica, 3 sentinels). Tests read
 * them from TEST_REDIS_URL, TEST_REDIS_CLUSTER and TEST_REDIS_SENTINEL (see helpers/deployments.ts).
 * Tests that kill or pause servers start their own.
 */
export default async function globalSetup(): Promise<void> {
  const url = process.env.CACHE_MEMOIZE_TEST_REDIS_URL;
  const [server, cluster, group] = await Promise.all([
    url ? undefined : spawnRedis(),
    spawnRedisCluster({ masters: 3 }),
    spawnSentinelGroup(),
  ]);
  globalThis.__CACHE_MEMOIZE_REDIS__ = server;
  globalThis.__CACHE_MEMOIZE_CLUSTER__ = cluster;
  globalThis.__CACHE_MEMOIZE_SENTINEL__ = group;
  process.env.TEST_REDIS_URL = url ?? server?.url;
  process.env.TEST_REDIS_CLUSTER = JSON.stringify(cluster.rootNodes);
  process.env.TEST_REDIS_SENTINEL = JSON.stringify({ name: group.name, sentinels: group.sentinels });
}

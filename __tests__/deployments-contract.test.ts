import { createCluster, createSentinel, type RedisClusterType, type RedisSentinelType } from 'redis';
import { RedisStore } from '../lib/stores/redis/store';
import { storeContract } from '../lib/testing';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';
import { type SentinelGroup, spawnSentinelGroup } from './helpers/redis-sentinel';

// The exported store contract over a real Redis Cluster (3 masters) and a real Sentinel group, each
// through node-redis's own object: the same semantics as over one server, including locks,
// release announcements and change tracking for the local tier.

let redisCluster: RedisCluster;
let group: SentinelGroup;
let cluster: RedisClusterType;
let sentinel: RedisSentinelType;

beforeAll(async () => {
  [redisCluster, group] = await Promise.all([spawnRedisCluster({ masters: 3 }), spawnSentinelGroup()]);
  cluster = createCluster({ rootNodes: redisCluster.rootNodes });
  cluster.on('error', () => {});
  sentinel = createSentinel({ name: group.name, sentinelRootNodes: group.sentinels });
  sentinel.on('error', () => {});
  await Promise.all([cluster.connect(), sentinel.connect()]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([cluster?.close(), sentinel?.close()]);
  await Promise.allSettled([redisCluster?.stop(), group?.stop()]);
});

storeContract('RedisStore over a node-redis cluster', () => new RedisStore(cluster), {
  dispose: (store) => store.close?.(),
});
storeContract('RedisStore over a node-redis sentinel', () => new RedisStore(sentinel), {
  dispose: (store) => store.close?.(),
});

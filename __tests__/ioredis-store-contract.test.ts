import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import Redis6, { Cluster as Cluster6 } from 'ioredis6';
import Valkey, { Cluster as ValkeyCluster } from 'iovalkey';
import { RedisStore } from '../lib/stores/redis/store';
import type { Store } from '../lib/stores/store';
import { storeContract } from '../lib/testing';
import { type IoredisFamily, ioredisClient, ioredisCluster, ioredisSentinel } from './helpers/ioredis';
import { uniquePrefix } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';
import { type SentinelGroup, spawnSentinelGroup } from './helpers/redis-sentinel';

// The exported store contract (cache-memoize/testing) over every ioredis kind of client: ioredis 5
// and 6 (RESP3 by default) and iovalkey, a single server, a master found through sentinels, and a
// cluster of three masters.

const IOREDIS_6 = { Redis: Redis6, Cluster: Cluster6 } as unknown as IoredisFamily;
const IOVALKEY = { Redis: Valkey, Cluster: ValkeyCluster } as unknown as IoredisFamily;

let cluster: RedisCluster;
let group: SentinelGroup;
let io: Redis;
let ioSentinel: Redis;
let io6: Redis;
let valkey: Redis;
let ioCluster: Cluster;
beforeAll(async () => {
  // One after the other: each picks free ports, and a cluster node also needs its port + 10000.
  cluster = await spawnRedisCluster({ masters: 3 });
  group = await spawnSentinelGroup();
  [io, io6, valkey] = await Promise.all([
    ioredisClient(),
    ioredisClient(undefined, {}, IOREDIS_6),
    ioredisClient(undefined, {}, IOVALKEY),
  ]);
  [ioCluster, ioSentinel] = await Promise.all([ioredisCluster(cluster), ioredisSentinel(group)]);
}, 30_000);
afterAll(async () => {
  for (const client of [io, io6, valkey, ioCluster, ioSentinel]) client?.disconnect();
  await Promise.all([cluster?.stop(), group?.stop()]);
});

const dispose = (store: Store) => store.close?.();
storeContract('RedisStore over an ioredis 5 Redis', () => new RedisStore(io), { dispose });
storeContract('RedisStore over an ioredis 6 Redis (RESP3)', () => new RedisStore(io6), { dispose });
storeContract('RedisStore over an iovalkey Redis', () => new RedisStore(valkey), { dispose });
storeContract('RedisStore over an ioredis Redis with sentinels', () => new RedisStore(ioSentinel), { dispose });
storeContract('RedisStore over an ioredis Cluster (3 masters)', () => new RedisStore(ioCluster), { dispose });

test.each([
  ['an ioredis Redis', () => io],
  ['an ioredis Cluster', () => ioCluster],
])('over %s, the store works after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async (_kind, client) => {
  const store = new RedisStore(client());
  const key = `${uniquePrefix('io-flush')}:fn:{abc}`;
  await store.begin({ key, tokenTtlMs: 60_000 });
  if (client() === ioCluster) await Promise.all(ioCluster.nodes('master').map((node) => node.script('FLUSH')));
  else await io.script('FLUSH');
  const { token } = await store.begin({ key, tokenTtlMs: 60_000 });
  expect(token).toEqual(expect.any(String));
});

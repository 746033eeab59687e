import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { testRedisUrl } from './redis';
import type { RedisCluster } from './redis-cluster';
import type { SentinelGroup } from './redis-sentinel';

// ioredis clients for the tests: connected to the suite's Redis or a spawned cluster, with an
// 'error' listener (ioredis prints unhandled connection errors otherwise), ready before use.

/** The ioredis 5 `Redis` and `Cluster` classes, or another family's with the same API (ioredis 6, iovalkey). */
export interface IoredisFamily {
  Redis: new (url: string, options: RedisOptions) => Redis;
  Cluster: new (nodes: Array<{ host: string; port: number }>, options: ClusterOptions) => Cluster;
}

export const IOREDIS: IoredisFamily = { Redis, Cluster };

/** Resolves once `client` is ready; rejects if it ends first. */
export function ready(client: Redis | Cluster): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('the ioredis client ended before it was ready')));
  });
}

/** A ready ioredis `Redis` on `url` (the suite's Redis by default); the caller disconnects it. */
export async function ioredisClient(
  url = testRedisUrl(),
  options: RedisOptions = {},
  family: IoredisFamily = IOREDIS,
): Promise<Redis> {
  const client = new family.Redis(url, options);
  client.on('error', () => {});
  await ready(client);
  return client;
}

/** The nodes of a spawned cluster, as ioredis `Cluster` startup nodes. */
export function startupNodes(cluster: RedisCluster): Array<{ host: string; port: number }> {
  return cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
}

/** A ready ioredis `Cluster` over a spawned cluster; the caller disconnects it. */
export async function ioredisCluster(
  cluster: RedisCluster,
  options: ClusterOptions = {},
  family: IoredisFamily = IOREDIS,
): Promise<Cluster> {
  const client = new family.Cluster(startupNodes(cluster), options);
  client.on('error', () => {});
  await ready(client);
  return client;
}

/** A ready ioredis `Redis` on the master of a spawned sentinel group, found through its sentinels. */
export async function ioredisSentinel(group: SentinelGroup, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({ ...options, sentinels: group.sentinels, name: group.name });
  client.on('error', () => {});
  await ready(client);
  return client;
}

import { createClient, createCluster, createSentinel } from 'redis';
import type { RedisLike } from '../../lib/stores/redis/drivers';

/**
 * The deployments the suite runs behaviour tests against, as plain data a forked child can be given:
 * which client family and kind, over the run's shared servers (global-setup).
 */
export type DeploymentKind = 'node-redis client' | 'node-redis cluster' | 'node-redis sentinel';

export interface Deployment {
  readonly kind: DeploymentKind;
  readonly url: string;
  readonly rootNodes: Array<{ url: string }>;
  readonly sentinel: { name: string; sentinels: Array<{ host: string; port: number }> };
}

/** A connected client of a deployment, and the way to close it. */
export interface Connected {
  readonly client: RedisLike;
  /** Plain commands for the test's own bookkeeping (a counter), through the same object. */
  incr(key: string): Promise<number>;
  close(): Promise<void>;
}

/** The run's shared servers as one deployment of `kind`. */
export function deployment(kind: DeploymentKind): Deployment {
  const url = process.env.TEST_REDIS_URL;
  const cluster = process.env.TEST_REDIS_CLUSTER;
  const sentinel = process.env.TEST_REDIS_SENTINEL;
  if (!url || !cluster || !sentinel) throw new Error('run the tests through jest: global-setup starts the servers');
  return { kind, url, rootNodes: JSON.parse(cluster), sentinel: JSON.parse(sentinel) };
}

/** Connects to `d` the way an application would. */
export async function connectTo(d: Deployment): Promise<Connected> {
  if (d.kind === 'node-redis cluster') {
    const cluster = createCluster({ rootNodes: d.rootNodes });
    cluster.on('error', () => {});
    await cluster.connect();
    return { client: cluster as unknown as RedisLike, incr: (k) => cluster.incr(k), close: () => cluster.close() };
  }
  if (d.kind === 'node-redis sentinel') {
    const sentinel = createSentinel({ name: d.sentinel.name, sentinelRootNodes: d.sentinel.sentinels });
    sentinel.on('error', () => {});
    await sentinel.connect();
    return { client: sentinel as unknown as RedisLike, incr: (k) => sentinel.incr(k), close: () => sentinel.close() };
  }
  const client = createClient({ url: d.url });
  client.on('error', () => {});
  await client.connect();
  return { client: client as unknown as RedisLike, incr: (k) => client.incr(k), close: () => client.close() };
}

/** The masters' URLs of a deployment, to look at each one directly. */
export async function masterUrls(d: Deployment): Promise<string[]> {
  if (d.kind === 'node-redis cluster') {
    const cluster = createCluster({ rootNodes: d.rootNodes });
    cluster.on('error', () => {});
    await cluster.connect();
    try {
      return cluster.masters.map((m) => `redis://${m.host}:${m.port}`);
    } finally {
      await cluster.close();
    }
  }
  if (d.kind === 'node-redis sentinel') {
    const sentinel = createSentinel({ name: d.sentinel.name, sentinelRootNodes: d.sentinel.sentinels });
    sentinel.on('error', () => {});
    await sentinel.connect();
    try {
      const master = sentinel.getMasterNode();
      return master === undefined ? [] : [`redis://${master.host}:${master.port}`];
    } finally {
      await sentinel.close();
    }
  }
  return [d.url];
}

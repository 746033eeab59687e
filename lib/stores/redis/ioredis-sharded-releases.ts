import type { Releases } from '../releases';
import type { Closable } from './driver';
import { follow, type IoredisLike, optionsOf, ownConnection } from './ioredis-client';
import { ShardedReleaseSubscriber } from './release-subscriber';

type Listener = (message: string) => void;

/** The members of an ioredis `Cluster` made with `shardedSubscribers: true` that are used here. */
interface ShardedCluster {
  on(event: 'smessage', listener: (channel: string, message: string) => void): unknown;
  on(event: '-subscriber' | 'error' | 'end' | 'ready', listener: () => void): unknown;
  ssubscribe(channel: string): Promise<unknown>;
  sunsubscribe(channel: string): Promise<unknown>;
  connect(): Promise<unknown>;
  off(event: 'end' | 'ready', listener: () => void): unknown;
  disconnect(): void;
}

/** A master of an ioredis `Cluster`, as `nodes('master')` gives it. */
interface Node {
  info(section: string): Promise<string>;
}

/** What the version check asks of the user's `Cluster`. */
interface ClusterNodes {
  readonly status: string;
  nodes(role: 'master'): Node[];
  once(event: 'ready' | 'end', listener: () => void): unknown;
  off(event: 'ready' | 'end', listener: () => void): unknown;
}

/** Resolves once `cluster` is ready (true) or has ended (false). */
function whenReady(cluster: ClusterNodes): Promise<boolean> {
  if (cluster.status === 'ready') return Promise.resolve(true);
  if (cluster.status === 'end') return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (ready: boolean) => () => {
      cluster.off('ready', onReady);
      cluster.off('end', onEnd);
      resolve(ready);
    };
    const onReady = settle(true);
    const onEnd = settle(false);
    cluster.once('ready', onReady);
    cluster.once('end', onEnd);
  });
}

/**
 * Whether this ioredis (or iovalkey) can route `SSUBSCRIBE` to the master of each channel's slot:
 * ioredis 5.x since it has the `shardedSubscribers` option, and 6.x. Without it, a cluster sends every
 * subscription to one node, which answers `MOVED` for the slots it does not serve.
 */
export function routesShardedSubscriptions(client: IoredisLike): boolean {
  return typeof (optionsOf(client) as { shardedSubscribers?: unknown }).shardedSubscribers === 'boolean';
}

/** Whether the cluster's masters are Redis 7 or later (`SPUBLISH`), asked of the first one once it is ready. */
export async function ioredisSpeaksShardedPubSub(client: IoredisLike): Promise<boolean> {
  const cluster = client as unknown as ClusterNodes;
  try {
    if (!(await whenReady(cluster))) return false;
    const [master] = cluster.nodes('master');
    if (master === undefined) return false;
    const version = /redis_version:(\d+)/.exec(await master.info('server'))?.[1];
    return Number(version) >= 7;
  } catch {
    return false;
  }
}

/**
 * Sharded release announcements over an ioredis `Cluster`: a second `Cluster` of the store's own,
 * made with `shardedSubscribers: true` so that ioredis keeps one subscriber connection per master and
 * sends each entry's `SSUBSCRIBE` to the master of its slot (subscribing again after a failover or a
 * reshard), under the same per-wait subscriptions as node-redis ({@link ShardedReleaseSubscriber}).
 * A subscriber connection lost wakes every waiter to check for itself.
 */
export class IoredisShardedReleases implements Closable {
  readonly #cluster: ShardedCluster;
  readonly #listeners = new Map<string, Listener>();
  readonly #subscriber: ShardedReleaseSubscriber;
  readonly #stopFollowing: () => void;

  constructor(client: IoredisLike, releases: Releases) {
    const cluster = ownConnection<ShardedCluster>(client, 'cluster', { shardedSubscribers: true });
    this.#cluster = cluster;
    cluster.on('smessage', (channel, message) => this.#listeners.get(channel)?.(message));
    cluster.on('-subscriber', () => releases.wakeAll());
    cluster.on('error', () => releases.wakeAll());
    this.#subscriber = new ShardedReleaseSubscriber(
      {
        sSubscribe: (channel, listener) => {
          this.#listeners.set(channel, listener);
          return cluster.ssubscribe(channel);
        },
        sUnsubscribe: (channel) => {
          this.#listeners.delete(channel);
          return cluster.sunsubscribe(channel);
        },
      },
      releases,
    );
    this.#stopFollowing = follow(client, cluster);
  }

  /** Hears the releases on `channel` until `stop()`; see {@link ShardedReleaseSubscriber.listen}. */
  listen(channel: string): { ready: Promise<void> | undefined; stop(): void } {
    return this.#subscriber.listen(channel);
  }

  /** Stops hearing releases and closes the store's cluster. Idempotent. */
  close(): void {
    this.#stopFollowing();
    this.#subscriber.close();
    try {
      this.#cluster.disconnect();
    } catch {
      // Already closed.
    }
  }
}

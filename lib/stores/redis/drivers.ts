import type { RedisDriver } from './driver';
import { isNodeRedis, NodeRedisDriver, type RedisLike as NodeRedisLike } from './node-redis';

/** A client the Redis store accepts: a node-redis client, cluster or sentinel object. */
export type RedisLike = NodeRedisLike;

/**
 * The driver for `client`'s family and kind.
 * @throws TypeError naming what is accepted, for anything else (a URL string points to
 * `createResilientClient`).
 */
export function driverFor(client: unknown): RedisDriver {
  if (isNodeRedis(client)) return new NodeRedisDriver(client);
  const hint = typeof client === 'string' ? `; for a URL, use createResilientClient(${JSON.stringify(client)})` : '';
  throw new TypeError(
    'RedisStore: client must be a node-redis client, cluster or sentinel object (createClient, ' +
      `createCluster, createSentinel)${hint || '; for a URL, use createResilientClient(url)'}`,
  );
}

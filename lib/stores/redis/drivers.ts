import type { RedisDriver } from './driver';
import { IoredisDriver } from './ioredis';
import { type IoredisLike, isIoredis } from './ioredis-client';
import { isNodeRedis, NodeRedisDriver, type RedisLike as NodeRedisLike } from './node-redis';

/**
 * A client the Redis store accepts: a node-redis client, cluster or sentinel object, or an ioredis
 * or iovalkey `Redis` (also with `sentinels`) or `Cluster`.
 */
export type RedisLike = NodeRedisLike | IoredisLike;

/**
 * The driver for `client`'s family and kind.
 * @throws TypeError naming what is accepted, for anything else (a URL string points to
 * `createResilientClient`), and for an ioredis object with options the cache cannot work under.
 */
export function driverFor(client: unknown): RedisDriver {
  if (isNodeRedis(client)) return new NodeRedisDriver(client);
  if (isIoredis(client)) return new IoredisDriver(client);
  const hint = typeof client === 'string' ? `; for a URL, use createResilientClient(${JSON.stringify(client)})` : '';
  throw new TypeError(
    'RedisStore: client must be a node-redis client, cluster or sentinel object (createClient, createCluster, ' +
      'createSentinel) or an ioredis or iovalkey Redis or Cluster object (new Redis(), new Redis({ sentinels }), ' +
      `new Cluster())${hint || '; for a URL, use createResilientClient(url)'}`,
  );
}

import type { RedisClientOptions, RedisClientType } from 'redis';

/** Options of {@link createResilientClient}: node-redis client options, plus where connection errors go. */
export interface ResilientClientOptions extends Omit<RedisClientOptions, 'url' | 'modules' | 'functions' | 'scripts'> {
  /**
   * Called for every `'error'` event of the client (one per failed connection attempt while Redis is
   * away). Without it, the first error of each outage becomes one process warning.
   */
  onConnectionError?: (error: Error) => void;
}

/** The settings {@link createResilientClient} applies unless you override them. */
export const RESILIENT_DEFAULTS = {
  /** Fail commands at once while disconnected instead of queueing them without bound. */
  disableOfflineQueue: true,
  /** Keeps an idle healthy connection active so that `socketTimeout` only fires on a dead one. */
  pingIntervalMs: 1000,
  /** A connection that hears nothing for this long is dropped and re-established. */
  socketTimeoutMs: 3000,
  /** How long one TCP connect attempt may take. */
  connectTimeoutMs: 1000,
  /** Longest pause between reconnection attempts. */
  maxReconnectDelayMs: 1000,
} as const;

/**
 * Retries forever, backing off to {@link RESILIENT_DEFAULTS.maxReconnectDelayMs} with jitter. Unlike
 * node-redis's default it does not give up after a socket timeout, which would leave the client
 * closed for good.
 */
export function reconnectForever(retries: number): number {
  return Math.min(50 * 2 ** retries, RESILIENT_DEFAULTS.maxReconnectDelayMs) + Math.floor(Math.random() * 100);
}

/**
 * Creates a node-redis client set up for a cache that must never make a request fail or hang: no
 * offline queue, a ping interval below the socket timeout, a reconnect strategy that never gives up,
 * and an `'error'` listener (a client without one crashes the process). It starts connecting at once
 * and returns without waiting: calls made before it is ready run uncached, and caching starts when
 * it connects, whether Redis is up at boot or comes up later. Close it with `close()` or `destroy()`.
 *
 * Needs the `redis` package (5.x or 6.x).
 *
 * @param url - `redis://[[user]:password@]host[:port][/db]`
 * @param options - node-redis client options; `socket` fields are merged over the defaults
 *
 * @example
 * ```ts
 * configure({ client: createResilientClient(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') });
 * ```
 */
export function createResilientClient(url: string, options: ResilientClientOptions = {}): RedisClientType {
  if (typeof url !== 'string' || url.length === 0) {
    throw new TypeError(`cache-memoize: createResilientClient needs a redis:// URL string, got ${String(url)}`);
  }
  // Loaded here, not at the top, so that the package works without `redis` installed (MemoryStore).
  const { createClient } = require('redis') as typeof import('redis');
  const { onConnectionError, socket, ...rest } = options;
  const client = createClient({
    disableOfflineQueue: RESILIENT_DEFAULTS.disableOfflineQueue,
    pingInterval: RESILIENT_DEFAULTS.pingIntervalMs,
    ...rest,
    url,
    socket: {
      connectTimeout: RESILIENT_DEFAULTS.connectTimeoutMs,
      socketTimeout: RESILIENT_DEFAULTS.socketTimeoutMs,
      reconnectStrategy: reconnectForever,
      ...socket,
    } as RedisClientOptions['socket'],
  }) as RedisClientType;

  let healthy = true;
  client.on('ready', () => {
    healthy = true;
  });
  client.on('error', (error: Error) => {
    if (onConnectionError !== undefined) {
      onConnectionError(error);
      return;
    }
    if (!healthy) return;
    healthy = false;
    process.emitWarning(
      `cache-memoize: Redis connection error: ${error.message.replace(/\.$/, '')}; calls run uncached until it is back`,
      {
        code: 'CACHE_MEMOIZE_CONNECTION',
      },
    );
  });
  // Never settles while Redis stays away (node-redis retries inside connect()); nothing waits on it.
  client.connect().catch(() => {});
  return client;
}

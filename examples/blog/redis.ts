import type { RedisClientType } from 'redis';
import { createResilientClient } from '../../lib';

/** The node-redis client each worker owns. */
export type RedisClient = RedisClientType;

/** How long the primary's probe and a worker's first connection may take. */
export const CONNECT_WAIT_MS = 1000;

/** Resolves `true` once `client` is ready, or `false` if it is not within `timeoutMs`. */
function whenReady(client: RedisClient, timeoutMs: number): Promise<boolean> {
  if (client.isReady) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    client.once('ready', onReady);
  });
}

/**
 * The primary's check: does a Redis at `url` answer within `timeoutMs`? Connection attempts are
 * retried within that time (so a Redis that is just starting counts), and the client is destroyed
 * either way.
 */
export async function probeRedis(url: string, timeoutMs = CONNECT_WAIT_MS): Promise<boolean> {
  const client = createResilientClient(url, { onConnectionError: () => {} });
  try {
    if (!(await whenReady(client, timeoutMs))) return false;
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

/**
 * A worker's client: `createResilientClient` (no offline queue, a reconnect strategy that never gives
 * up), connected in the background. Waits up to `timeoutMs` for it to be ready, so that a worker
 * forked while Redis is up starts with a working cache, then returns the client whether or not it is
 * ready: the memoizer skips a client that is not connected and serves pages uncached, and caching
 * starts by itself when the client connects. A worker never crashes or waits longer because Redis
 * went away after the primary saw it.
 *
 * `warn` gets one line when the connection is lost (or not there after `timeoutMs`) and one when it
 * is back, not one per failed reconnection attempt.
 */
export async function connectRedis(
  url: string,
  options: { timeoutMs?: number; warn?: (message: string) => void } = {},
): Promise<RedisClient> {
  const { timeoutMs = CONNECT_WAIT_MS, warn = console.warn } = options;
  let everReady = false;
  // Assumed up until told otherwise, so that an outage is announced once, at its first error.
  let healthy = true;
  const lost = (reason: string) => {
    if (!healthy) return;
    healthy = false;
    warn(`redis: ${reason}; serving pages uncached until it is back`);
  };
  // node-redis messages may end with a full stop ("... in 3000ms.").
  const client = createResilientClient(url, { onConnectionError: (error) => lost(error.message.replace(/\.$/, '')) });
  client.on('ready', () => {
    if (!healthy) warn(everReady ? 'redis: reconnected' : 'redis: connected');
    everReady = true;
    healthy = true;
  });
  if (!(await whenReady(client, timeoutMs))) lost(`not ready within ${timeoutMs} ms`);
  return client;
}

/** Closes `client`, letting commands in flight finish for up to `timeoutMs`, then drops the rest. */
export async function closeRedis(client: RedisClient, timeoutMs = CONNECT_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    // close() waits for replies, which a paused or unreachable Redis never sends.
    await Promise.race([client.close(), timedOut]);
  } catch {
    // Already closed: nothing left to flush.
  } finally {
    clearTimeout(timer);
    client.destroy();
  }
}

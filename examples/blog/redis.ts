import { createClient } from 'redis';

/** The node-redis client each worker owns. */
export type RedisClient = ReturnType<typeof createRedisClient>;

function createRedisClient(url: string, connectTimeoutMs: number, connected: () => boolean) {
  return createClient({
    url,
    // The cache fails open on errors; these two turn an outage into a quick error rather than
    // commands that queue or wait, so pages stay fast (served uncached) while Redis is away.
    disableOfflineQueue: true,
    commandOptions: { timeout: 500 },
    socket: {
      connectTimeout: connectTimeoutMs,
      // Give up at once on the first connection, so the caller can fall back; retry after it.
      reconnectStrategy: (retries) => (connected() ? Math.min(50 * 2 ** retries, 2000) : false),
    },
  });
}

/**
 * Connects to `url`, waiting at most `timeoutMs`. Resolves the client, or `undefined` if no Redis
 * answered in time. Connection losses later on are reported through `warn` once each, and the
 * client reconnects by itself.
 */
export async function connectRedis(
  url: string,
  options: { timeoutMs?: number; warn?: (message: string) => void } = {},
): Promise<RedisClient | undefined> {
  const { timeoutMs = 1000, warn = console.warn } = options;
  let everReady = false;
  let healthy = false;
  const client = createRedisClient(url, timeoutMs, () => everReady);
  client.on('error', (error: Error) => {
    if (!healthy) return;
    healthy = false;
    warn(`redis: ${error.message}; serving pages uncached until it is back`);
  });
  client.on('ready', () => {
    if (everReady) warn('redis: reconnected');
    everReady = true;
    healthy = true;
  });

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const connecting = client
    .connect()
    .then(() => client.ping())
    .then(
      () => 'ok' as const,
      () => 'failed' as const,
    );
  const outcome = await Promise.race([connecting, timedOut]);
  clearTimeout(timer);
  if (outcome === 'ok') return client;
  if (client.isOpen) client.destroy();
  return undefined;
}

import { createServer } from 'node:http';
import { createBlogApp } from './app';
import type { Config } from './config';
import { openDatabase } from './database';
import { createPostRepository } from './posts';
import { closeRedis, connectRedis, type RedisClient } from './redis';

const DRAIN_MS = 2000;

/**
 * Runs one worker: its own SQLite connection, its own Redis client (unless the primary said
 * 'memory'), the app on the shared port; on SIGINT or SIGTERM, closes all three and exits 0.
 *
 * The Redis client is waited for up to 1 s. If Redis went away after the primary saw it, the worker
 * starts anyway with the client still reconnecting: pages are served uncached until it is back.
 */
export async function runWorker(config: Config): Promise<void> {
  const db = openDatabase(config.dataDir);
  let redis: RedisClient | undefined;
  if (config.store === 'redis') {
    redis = await connectRedis(config.redisUrl, {
      warn: (message) => console.warn(`worker ${process.pid}: ${message}`),
    });
  }
  const { app } = createBlogApp({ posts: createPostRepository(db), redis, keyPrefix: config.keyPrefix });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, () => resolve());
  });

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    // Let requests in progress finish, but do not wait for idle keep-alive connections.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), DRAIN_MS).unref();
    });
    if (redis !== undefined) await closeRedis(redis);
    db.close();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

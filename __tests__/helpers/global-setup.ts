import { type RedisServer, spawnRedis } from './redis-server';

declare global {
  var __CACHE_MEMOIZE_REDIS__: RedisServer | undefined;
}

/** One redis-server for the run (unless REDIS_URL is given); tests read TEST_REDIS_URL. */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const server = await spawnRedis();
  globalThis.__CACHE_MEMOIZE_REDIS__ = server;
  process.env.TEST_REDIS_URL = server.url;
}

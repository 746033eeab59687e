/** Stops the redis-server that global-setup spawned. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__CACHE_MEMOIZE_REDIS__?.stop();
}

/** Stops what global-setup started, and only that. */
export default async function globalTeardown(): Promise<void> {
  await Promise.allSettled([
    globalThis.__CACHE_MEMOIZE_REDIS__?.stop(),
    globalThis.__CACHE_MEMOIZE_CLUSTER__?.stop(),
    globalThis.__CACHE_MEMOIZE_SENTINEL__?.stop(),
  ]);
}

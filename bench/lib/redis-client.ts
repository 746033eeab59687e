import { createClient } from 'redis';

/** Connects the node-redis client the benchmark's baselines (and cache-memoize) use. */
export async function connectClient(url: string) {
  const client = createClient({ url });
  client.on('error', (error: unknown) => console.error('redis client error:', error));
  await client.connect();
  return client;
}

/** The client {@link connectClient} resolves. */
export type BenchClient = Awaited<ReturnType<typeof connectClient>>;

/** Unlinks every key matching `pattern` (SCAN, so a shared Redis is not blocked); resolves the count. */
export async function unlinkMatching(client: BenchClient, pattern: string): Promise<number> {
  let count = 0;
  for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    if (keys.length > 0) count += await client.unlink(keys);
  }
  return count;
}

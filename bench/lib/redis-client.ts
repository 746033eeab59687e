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

/**
 * The CPU time Redis's main thread has used since it started, in microseconds (INFO cpu: user plus
 * system; the whole process's on a server that does not report its main thread apart).
 */
export async function serverCpuMicros(client: BenchClient): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  let seconds = field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread');
  if (Number.isNaN(seconds)) seconds = field('used_cpu_user') + field('used_cpu_sys');
  if (Number.isNaN(seconds)) throw new Error('INFO cpu has no used_cpu_user/used_cpu_sys');
  return seconds * 1e6;
}

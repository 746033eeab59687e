import { spawnRedis } from '../../__tests__/helpers/redis-server';

/** A Redis the benchmark talks to: spawned for this run, or the one at `REDIS_URL`. */
export interface BenchRedis {
  readonly url: string;
  /** Whether the server was spawned by this run (and is stopped by {@link BenchRedis.stop}). */
  readonly spawned: boolean;
  /** Stops a spawned server and waits for it to exit; does nothing for `REDIS_URL`. */
  stop(): Promise<void>;
}

/**
 * The Redis at `REDIS_URL` if set, else a fresh `redis-server` on a free port with no persistence
 * (the test suite's spawner). A spawned server is also killed if the benchmark exits without
 * calling {@link BenchRedis.stop}.
 */
export async function benchRedis(): Promise<BenchRedis> {
  const external = process.env.REDIS_URL;
  if (external) return { url: external, spawned: false, stop: async () => {} };
  const server = await spawnRedis();
  // Ctrl-C or a crash must not leave an orphaned server behind; kill() signals synchronously.
  const killOnExit = () => void server.kill();
  const exitOnSignal = () => process.exit(130);
  process.once('exit', killOnExit);
  process.once('SIGINT', exitOnSignal);
  process.once('SIGTERM', exitOnSignal);
  return {
    url: server.url,
    spawned: true,
    async stop() {
      process.removeListener('exit', killOnExit);
      process.removeListener('SIGINT', exitOnSignal);
      process.removeListener('SIGTERM', exitOnSignal);
      await server.stop();
    },
  };
}

import { createClient, type RedisClientType } from 'redis';
import { type RedisServer, type SpawnRedisOptions, spawnRedis } from './redis-server';

// Counting what the library sends, as the server counts it (INFO commandstats: the commands a script
// runs count too), on a server of the test's own so that no other test adds to the counts.

/** A spawned server with a client for the library and one for the counting. */
export interface CountedServer {
  readonly server: RedisServer;
  readonly client: RedisClientType;
  readonly admin: RedisClientType;
  /** Calls of each command the server ran during `work` (the counting's own INFO left out). */
  commandsDuring(work: () => Promise<unknown>): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function countedServer(options: SpawnRedisOptions = {}): Promise<CountedServer> {
  const server = await spawnRedis(options);
  const [client, admin] = await Promise.all([
    createClient({ url: server.url }).connect() as Promise<RedisClientType>,
    createClient({ url: server.url }).connect() as Promise<RedisClientType>,
  ]);
  const calls = async (): Promise<Record<string, number>> => {
    const text = await admin.info('commandstats');
    return Object.fromEntries(
      [...text.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)].map((m) => [m[1] as string, Number(m[2])]),
    );
  };
  return {
    server,
    client,
    admin,
    async commandsDuring(work) {
      const before = await calls();
      await work();
      const after = await calls();
      const ran: Record<string, number> = {};
      for (const [name, n] of Object.entries(after)) {
        const d = n - (before[name] ?? 0);
        if (d > 0 && name !== 'info') ran[name] = d;
      }
      return ran;
    },
    async close() {
      await Promise.allSettled([client.quit(), admin.quit()]);
      await server.stop();
    },
  };
}

import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { createClient } from 'redis';
import { createMemoizer } from '../../lib';
import { COMPUTED_BY_READER, type SideKind } from './protocol';

/** One process's handle on the shared versioned entry, through a local tier. */
export interface Side {
  /** The version this process's cached function returns now. */
  read(): Promise<number>;
  /** Stores `version` as the entry's new value; resolves when the store has it. */
  write(version: number): Promise<void>;
  close(): Promise<void>;
}

interface Versioned {
  version: number;
}

async function memoizeSide(url: string, keyPrefix: string): Promise<Side> {
  const client = createClient({ url });
  client.on('error', (error: unknown) => console.error('invalidation: node-redis error:', error));
  await client.connect();
  let next = COMPUTED_BY_READER;
  const memoize = createMemoizer({ client, ttl: '1h' });
  const f = memoize(async (_id: number): Promise<Versioned> => ({ version: next }), {
    name: 'version',
    keyPrefix,
    local: true,
  });
  return {
    read: async () => (await f(1)).version,
    async write(version) {
      next = version;
      await f.refresh(1);
    },
    async close() {
      await client.quit();
    },
  };
}

async function bentocacheSide(url: string, prefix: string): Promise<Side> {
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port) };
  const bento = new BentoCache({
    default: 'cache',
    prefix,
    stores: {
      // The bus tells the other processes' L1 to drop an entry this one wrote.
      cache: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 1_000 }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  });
  return {
    async read() {
      const value = await bento.getOrSet({
        key: 'version',
        factory: () => ({ version: COMPUTED_BY_READER }),
        ttl: '1h',
      });
      return value.version;
    },
    async write(version) {
      await bento.set({ key: 'version', value: { version }, ttl: '1h' });
    },
    async close() {
      await bento.disconnectAll();
    },
  };
}

/** Opens `kind` on the entry under `prefix`; the same call in both processes reaches the same entry. */
export function openSide(kind: SideKind, url: string, prefix: string): Promise<Side> {
  return kind === 'memoize-local' ? memoizeSide(url, prefix) : bentocacheSide(url, prefix);
}

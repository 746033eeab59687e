import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { createMemoizer } from '../lib';
import { ioredisClient, ioredisCluster } from './helpers/ioredis';
import { testRedisUrl, uniquePrefix } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';

// invalidateAll() over an ioredis Cluster removes the function's entries from every master, and
// nothing else: checked by scanning each master directly, on a connection of its own (not through
// the cluster client). Over an ioredis Redis, the same on its one server.

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

/** Every key matching `pattern` on one server, by SCAN on a plain connection to it. */
async function scanServer(url: string, pattern: string): Promise<string[]> {
  const server = await ioredisClient(url);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...page);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  } finally {
    server.disconnect();
  }
}

describe.each<[string, () => Promise<Redis | Cluster>, () => Promise<string[]>]>([
  ['an ioredis Redis', () => ioredisClient(), async () => [testRedisUrl()]],
  [
    'an ioredis Cluster (3 masters)',
    () => ioredisCluster(cluster),
    async () => (await cluster.masters()).map((m) => m.url),
  ],
])('over %s', (_kind, connect, servers) => {
  let client: Redis | Cluster;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client?.disconnect());

  test('invalidateAll removes every entry of the function from every master, and nothing else', async () => {
    const keyPrefix = uniquePrefix('io-all');
    const memoize = createMemoizer({ client, keyPrefix });
    let runs = 0;
    const f = memoize(async function target(id: number) {
      runs++;
      return { id };
    }, '1m');
    const other = memoize(async function other(id: number) {
      return { id };
    }, '1m');
    const ids = Array.from({ length: 60 }, (_, i) => i);
    for (const id of ids) {
      await f(id);
      await other(id);
    }
    const urls = await servers();
    // Value keys (`keyPrefix:target:{…}`) and their side keys (`keyPrefix#:target:{…}:g`).
    const before = await Promise.all(urls.map((url) => scanServer(url, `${keyPrefix}*:target:{*`)));
    // Values and tokens, spread over every master.
    expect(before.flat()).toHaveLength(2 * ids.length);
    for (const keys of before) expect(keys.length).toBeGreaterThan(0);

    await f.invalidateAll();

    const after = await Promise.all(urls.map((url) => scanServer(url, `${keyPrefix}*:target:{*`)));
    expect(after.flat()).toEqual([]);
    const others = await Promise.all(urls.map((url) => scanServer(url, `${keyPrefix}*:other:{*`)));
    expect(others.flat()).toHaveLength(2 * ids.length);
    runs = 0;
    await f(7);
    expect(runs).toBe(1);
  });
});

import keySlot from 'cluster-key-slot';
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import { createMemoizer } from '../lib';
import { entryIndexKey, functionKeyPrefix } from '../lib/key';
import { RedisStore } from '../lib/stores/redis/store';
import { uniquePrefix } from './helpers/redis';
import { type RedisCluster, servesSlot, spawnRedisCluster } from './helpers/redis-cluster';

// invalidateAll on a Redis Cluster: the index's master runs one page script per page of the
// function's entries (and one that finds the index empty), and each page's entries are unlinked
// together, so round trips grow with entries divided by the page size, not with the entries. The
// counts are the servers' own (INFO commandstats), on a cluster of this file's own.

let cluster: RedisCluster;
let client: RedisClusterType;
let admins: Map<number, RedisClientType>;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
  client = createCluster({ rootNodes: cluster.rootNodes });
  client.on('error', () => {});
  await client.connect();
  const masters = await cluster.masters();
  admins = new Map(
    await Promise.all(
      masters.map(async (m) => [m.port, (await createClient({ url: m.url }).connect()) as RedisClientType] as const),
    ),
  );
}, 30_000);
afterAll(async () => {
  await Promise.allSettled([...(admins?.values() ?? [])].map((a) => a.quit()));
  await client?.destroy();
  await cluster?.stop();
});

/** Calls of any of `commands` on each master so far. */
async function callsOf(...commands: string[]): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const [port, admin] of admins) {
    const stats = await admin.info('commandstats');
    let calls = 0;
    for (const command of commands)
      calls += Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    counts.set(port, calls);
  }
  return counts;
}

async function invalidateAllOf(entries: number, pageSize: number) {
  const keyPrefix = uniquePrefix('pages');
  const memoize = createMemoizer({ store: new RedisStore(client, { scanCount: pageSize }), keyPrefix, timeout: 5000 });
  const f = memoize(async function entry(n: number) {
    return n;
  });
  for (let i = 0; i < entries; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, entries - i) }, (_, j) => f(i + j)));
  }
  // Let the callers' unawaited lock releases and index raises land.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const masters = await cluster.masters();
  const indexPort = masters.find((m) => servesSlot(m, keySlot(entryIndexKey(functionKeyPrefix(keyPrefix, 'entry')))))
    ?.port as number;
  // A process's first run of a script goes as EVAL, then EVALSHA.
  const [evalBefore, unlinkBefore] = [await callsOf('eval', 'evalsha'), await callsOf('unlink')];
  await f.invalidateAll();
  const [evalAfter, unlinkAfter] = [await callsOf('eval', 'evalsha'), await callsOf('unlink')];
  let unlinks = 0;
  for (const [port, n] of unlinkAfter) unlinks += n - (unlinkBefore.get(port) ?? 0);
  const left = (await Promise.all(Array.from({ length: entries }, (_, i) => client.exists(f.keyFor(i))))).reduce(
    (a: number, b: number) => a + b,
    0,
  );
  return {
    pageScripts: (evalAfter.get(indexPort) ?? 0) - (evalBefore.get(indexPort) ?? 0),
    unlinks,
    left,
  };
}

test('page scripts grow with entries divided by the page size, and every entry goes', async () => {
  const small = await invalidateAllOf(200, 50);
  const large = await invalidateAllOf(400, 50);
  const bigPages = await invalidateAllOf(400, 200);
  expect([small.left, large.left, bigPages.left]).toEqual([0, 0, 0]);
  // Pages of 50: 4 and 8 pages, each page script also removing the previous page; then one more read.
  expect(small.pageScripts).toBe(5);
  expect(large.pageScripts).toBe(9);
  expect(bigPages.pageScripts).toBe(3);
  // Entries live in many slots: one UNLINK each, sent together per page.
  expect([small.unlinks, large.unlinks]).toEqual([200, 400]);
});

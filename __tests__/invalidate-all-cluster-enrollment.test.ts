import keySlot from 'cluster-key-slot';
import { createClient, createCluster, type RedisClusterType } from 'redis';
import { createMemoizer, type MemoizeErrorCode } from '../lib';
import { entryIndexKey, functionKeyPrefix } from '../lib/key';
import { RedisStore } from '../lib/stores/redis/store';
import { uniquePrefix } from './helpers/redis';
import { type RedisCluster, servesSlot, spawnRedisCluster } from './helpers/redis-cluster';

// On a Redis Cluster a function's entry index lives on one master and its entries on all of them.
// An entry enrolls in the index alongside the begin that creates its token, and both answer before
// the function runs: an entry whose enrollment failed is not written, so invalidateAll, which reads
// the index, never leaves a value computed before it. The enrollment counts against the index
// master's circuit, so a paused index master costs the function's misses their caching and not the
// hits of the other masters. A write soon after its enrollment sends no raise of the score of its
// own: the enrollment's score covers it. A cluster of this file's own: one of its masters is paused.

let cluster: RedisCluster;
let client: RedisClusterType;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
  client = createCluster({ rootNodes: cluster.rootNodes });
  client.on('error', () => {});
  await client.connect();
}, 30_000);
afterAll(async () => {
  await client?.destroy();
  await cluster?.stop();
});

function memoized(keyPrefix: string, options: { timeout?: `${number}ms`; failures?: number } = {}) {
  let runs = 0;
  const errors: Array<{ id: number; code: MemoizeErrorCode }> = [];
  const hits: number[] = [];
  const memoize = createMemoizer({
    store: new RedisStore(client),
    keyPrefix,
    timeout: options.timeout ?? 5000,
    circuitBreaker: { failures: options.failures ?? 5, coolDown: '30s' },
    onError: (e) => errors.push({ id: Number((e.args as number[] | undefined)?.[0]), code: e.error.code }),
    onHit: (e) => hits.push(Number((e.args as number[])[0])),
  });
  const f = memoize(
    async function entry(id: number) {
      runs++;
      return { id, runs };
    },
    { ttl: '1h', lock: false },
  );
  const index = entryIndexKey(functionKeyPrefix(keyPrefix, 'entry'));
  return { f, index, errors, hits, runs: () => runs };
}

test('an entry whose enrollment failed is not written, so invalidateAll leaves nothing behind', async () => {
  const { f, index, errors, runs } = memoized(uniquePrefix('enroll-refused'));
  // The index key holds a string: every enrollment fails (WRONGTYPE) while entries begin and write.
  await client.set(index, 'not a sorted set');
  expect(await f(1)).toEqual({ id: 1, runs: 1 });
  await client.del(index);
  await f.invalidateAll();
  expect(await f(1)).toEqual({ id: 1, runs: 2 });
  // It was reported, and computed without the store.
  expect(errors.map((e) => e.code)).toContain('E_DECODE');
  // Once enrolled, the entry is written, hit, and reached by invalidateAll.
  expect(await f(1)).toEqual({ id: 1, runs: 2 });
  await f.invalidateAll();
  expect(await f(1)).toEqual({ id: 1, runs: 3 });
  expect(runs()).toBe(3);
});

test('a paused index master opens its own circuit: misses go uncached, the other masters keep hitting', async () => {
  const { f, index, errors, hits } = memoized(uniquePrefix('enroll-paused'), { timeout: '300ms', failures: 2 });
  const masters = await cluster.masters();
  const masterOf = (key: string) => masters.find((m) => servesSlot(m, keySlot(key)));
  const indexMaster = masterOf(index);
  const ids = Array.from({ length: 60 }, (_, i) => i);
  const elsewhere = ids.filter((id) => masterOf(f.keyFor(id)) !== indexMaster);
  const cached = elsewhere.slice(0, 10);
  const fresh = elsewhere.slice(10, 20);
  for (const id of cached) await f(id);
  expect(errors).toEqual([]);

  expect(indexMaster).toBeDefined();
  const node = cluster.node(indexMaster?.port ?? 0);
  node.pause();
  try {
    // Misses: the enrollment times out twice, then its circuit is open and misses skip it at once.
    for (const id of fresh) expect(await f(id)).toMatchObject({ id });
    const codes = errors.map((e) => e.code);
    expect(codes.slice(0, 2)).toEqual(['E_TIMEOUT', 'E_TIMEOUT']);
    expect(new Set(codes.slice(2))).toEqual(new Set(['E_CIRCUIT_OPEN']));
    // The entries' masters' circuits stayed closed: what was cached there is still hit.
    hits.length = 0;
    for (const id of cached) await f(id);
    expect(hits).toEqual(cached);
  } finally {
    node.resume();
  }
  // None of the misses during the pause was written.
  for (const id of fresh) expect(await client.exists(f.keyFor(id))).toBe(0);
});

/** Script calls (first runs go as EVAL, then EVALSHA) on the master at `url` so far. */
async function scriptCalls(url: string): Promise<number> {
  const admin = await createClient({ url }).connect();
  try {
    const stats = await admin.info('commandstats');
    return ['eval', 'evalsha'].reduce(
      (sum, command) => sum + Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0),
      0,
    );
  } finally {
    await admin.quit();
  }
}

test('a miss sends one script to the index master: its enrollment, and no raise after its write', async () => {
  const { f, index } = memoized(uniquePrefix('enroll-once'));
  const masters = await cluster.masters();
  const indexMaster = masters.find((m) => servesSlot(m, keySlot(index)));
  expect(indexMaster).toBeDefined();
  const url = indexMaster?.url ?? '';
  // Entries on the other masters, so that the index master runs only the index's scripts.
  const ids = Array.from({ length: 60 }, (_, i) => i)
    .filter((id) => !servesSlot(indexMaster as NonNullable<typeof indexMaster>, keySlot(f.keyFor(id))))
    .slice(0, 20);
  const before = await scriptCalls(url);
  for (const id of ids) await f(id);
  // The writes, and any raise they sent, are not awaited by the callers.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect((await scriptCalls(url)) - before).toBe(ids.length);
  expect(await client.zCard(index)).toBe(ids.length);
});

test("a write long after its enrollment raises the entry's score; one soon after leaves it", async () => {
  const { f, index } = memoized(uniquePrefix('enroll-raise'));
  const store = new RedisStore(client);
  const write = async (id: number, enrolledMsAgo: number) => {
    const key = f.keyFor(id);
    const token = (await store.begin({ key, tokenTtlMs: 3_600_000 })).token ?? '';
    // An enrollment whose score is about to run out.
    await store.enroll?.({ key, tokenTtlMs: 1_000 });
    const enrolled = Number(await client.zScore(index, key));
    expect(await store.set({ key, token, value: 'v', ttlMs: 60_000, tokenTtlMs: 3_600_000, enrolledMsAgo })).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { enrolled, now: Number(await client.zScore(index, key)) };
  };
  const late = await write(1, 45_000);
  expect(late.now).toBeGreaterThan(late.enrolled + 3_500_000);
  const soon = await write(2, 1_000);
  expect(soon.now).toBe(soon.enrolled);
  await store.close();
});

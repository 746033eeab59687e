import keySlot from 'cluster-key-slot';
import { Cluster as IoredisCluster } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { createMemoizer } from '../lib';
import type { RedisLike } from '../lib/stores/redis/drivers';
import { RedisStore } from '../lib/stores/redis/store';
import type { ReadManyRequest, Store } from '../lib/stores/store';
import { ready, startupNodes } from './helpers/ioredis';
import { deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';
import { type RedisServer, spawnRedis } from './helpers/redis-server';
import { CountingStore } from './helpers/stores';

// f.many(argsList): every result in order; the hits read together (one MGET per hash slot, sent at
// once to each master: one batched read per master), the misses through the usual miss path. On
// servers of its own, so that counting commands (INFO commandstats) sees this file's commands only.

type Kind = 'node-redis client' | 'node-redis cluster' | 'ioredis cluster';

let server: RedisServer;
let cluster: RedisCluster;

beforeAll(async () => {
  server = await spawnRedis();
  cluster = await spawnRedisCluster({ masters: 3 });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([server?.stop(), cluster?.stop()]);
});

interface Connection {
  client: RedisLike;
  close(): Promise<void>;
}

async function open(kind: Kind): Promise<Connection> {
  if (kind === 'node-redis client') {
    const client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    return { client: client as unknown as RedisLike, close: () => client.close() };
  }
  if (kind === 'node-redis cluster') {
    const client = createCluster({ rootNodes: cluster.rootNodes });
    client.on('error', () => {});
    await client.connect();
    return { client: client as unknown as RedisLike, close: () => client.close() };
  }
  const client = new IoredisCluster(startupNodes(cluster), {});
  client.on('error', () => {});
  await ready(client);
  return { client: client as unknown as RedisLike, close: async () => void client.disconnect() };
}

/** The masters' URLs of the deployment `kind` runs on. */
async function masterUrls(kind: Kind): Promise<string[]> {
  return kind === 'node-redis client' ? [server.url] : (await cluster.masters()).map((m) => m.url);
}

/** How many times each command ran on each master so far (`INFO commandstats`), summed. */
async function commandCalls(urls: string[]): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const url of urls) {
    const admin = createClient({ url });
    admin.on('error', () => {});
    await admin.connect();
    try {
      for (const [, command, calls] of (await admin.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
        totals[command as string] = (totals[command as string] ?? 0) + Number(calls);
      }
    } finally {
      await admin.close();
    }
  }
  return totals;
}

/** What changed between two {@link commandCalls}, for `commands`. */
function delta(before: Record<string, number>, after: Record<string, number>, commands: string[]) {
  return Object.fromEntries(commands.map((c) => [c, (after[c] ?? 0) - (before[c] ?? 0)]));
}

describe.each<Kind>(['node-redis client', 'node-redis cluster', 'ioredis cluster'])('%s', (kind) => {
  let connection: Connection;
  beforeAll(async () => {
    connection = await open(kind);
  });
  afterAll(async () => {
    await connection.close();
  });

  function memoized(options: { store?: Store; lockTtl?: string; slowMs?: number } = {}) {
    const runs: number[] = [];
    const memoize = createMemoizer({
      ...(options.store === undefined ? { client: connection.client } : { store: options.store }),
      keyPrefix: uniquePrefix('many'),
      // A generous deadline: on a loaded machine a read that times out would run the function.
      timeout: '5s',
      onError: () => {},
    });
    const f = memoize(
      async (id: number) => {
        runs.push(id);
        if (options.slowMs !== undefined) await sleep(options.slowMs);
        return { id, squared: id * id };
      },
      { name: 'square', ...(options.lockTtl === undefined ? {} : { lockTtl: options.lockTtl as '10s' }) },
    );
    return { f, runs };
  }

  test('resolves every result in order: hits, misses and a repeated argument list', async () => {
    const { f, runs } = memoized();
    await Promise.all([f(1), f(3)]);
    runs.length = 0;
    const results = await f.many([[3], [2], [1], [2], [4]]);
    expect(results.map((r) => r.id)).toEqual([3, 2, 1, 2, 4]);
    expect(results[1]).toEqual({ id: 2, squared: 4 });
    expect(runs.sort()).toEqual([2, 4]);
    expect(await f.many([])).toEqual([]);
  });

  test('reads all hits with one MGET per slot, no GET, in one batched read per master', async () => {
    const store = new CountingStore(new RedisStore(connection.client));
    const { f, runs } = memoized({ store });
    const ids = Array.from({ length: 30 }, (_, i) => i);
    await Promise.all(ids.map((id) => f(id)));
    runs.length = 0;
    store.calls.get = 0;
    const urls = await masterUrls(kind);
    const before = await commandCalls(urls);
    const results = await f.many(ids.map((id) => [id]));
    const after = await commandCalls(urls);
    expect(results.map((r) => r.squared)).toEqual(ids.map((id) => id * id));
    expect(runs).toEqual([]);
    const slots = new Set(ids.map((id) => keySlot(f.keyFor(id))));
    // A single server answers every key with one MGET; a cluster refuses MGET across slots.
    const expected = kind === 'node-redis client' ? 1 : slots.size;
    expect(delta(before, after, ['get', 'mget', 'evalsha'])).toEqual({ get: 0, mget: expected, evalsha: 0 });
    expect(store.calls.getMany).toBe(urls.length);
    expect(store.calls.get).toBe(0);
  });

  test('misses are single-flighted: with a call in flight and with each other', async () => {
    const { f, runs } = memoized({ slowMs: 100 });
    const single = f(5);
    const [results, alone] = await Promise.all([f.many([[5], [6], [6], [5]]), single]);
    expect(results.map((r) => r.id)).toEqual([5, 6, 6, 5]);
    expect(alone).toEqual({ id: 5, squared: 25 });
    expect(runs.sort()).toEqual([5, 6]);
    // A single call made while the batch reads joins its entry too.
    const { f: g, runs: gRuns } = memoized({ slowMs: 100 });
    const batch = g.many([[7], [8]]);
    const joined = g(8);
    expect((await batch).map((r) => r.id)).toEqual([7, 8]);
    expect(await joined).toEqual({ id: 8, squared: 64 });
    expect(gRuns.sort()).toEqual([7, 8]);
  });

  test('a miss whose lock another process holds waits for its value instead of computing', async () => {
    const other = await open(kind);
    try {
      const keyPrefix = uniquePrefix('many-lock');
      const gate = deferred<void>();
      const holder = createMemoizer({ client: other.client, keyPrefix })(
        async (id: number) => {
          await gate.promise;
          return { id, by: 'the other process' };
        },
        { name: 'locked', lockTtl: '10s' },
      );
      let runs = 0;
      const waiter = createMemoizer({ client: connection.client, keyPrefix })(
        async (id: number) => {
          runs++;
          return { id, by: 'this process' };
        },
        { name: 'locked', lockTtl: '10s' },
      );
      const holding = holder(1);
      // The holder has the lock once its begin is answered; its computation then waits for the gate.
      await sleep(100);
      const batch = waiter.many([[1], [2]]);
      await sleep(100);
      gate.resolve();
      expect(await batch).toEqual([
        { id: 1, by: 'the other process' },
        { id: 2, by: 'this process' },
      ]);
      expect(runs).toBe(1);
      await holding;
    } finally {
      await other.close();
    }
  });

  test('bytes that do not decode are a miss for that entry only, reported and replaced', async () => {
    const errors: string[] = [];
    const memoize = createMemoizer({
      client: connection.client,
      keyPrefix: uniquePrefix('many-garbage'),
      onError: ({ error }) => errors.push(error.code),
    });
    let runs = 0;
    const f = memoize(
      async (id: number) => {
        runs++;
        return id * 10;
      },
      { name: 'tens' },
    );
    await f.many([[1], [2], [3]]);
    await writeRaw(kind, f.keyFor(2), 'not an envelope');
    runs = 0;
    expect(await f.many([[1], [2], [3]])).toEqual([10, 20, 30]);
    expect(runs).toBe(1);
    expect(errors).toEqual(['E_DECODE']);
    runs = 0;
    expect(await f.many([[1], [2], [3]])).toEqual([10, 20, 30]);
    expect(runs).toBe(0);
  });

  async function writeRaw(k: Kind, key: string, value: string): Promise<void> {
    const url = k === 'node-redis client' ? server.url : (await cluster.masterOf(keySlot(key))).url;
    const admin = createClient({ url });
    await admin.connect();
    await admin.set(key, value);
    await admin.close();
  }
});

/** Records the keys of every batched read. */
class KeysRead extends CountingStore {
  readonly keys: string[][] = [];
  override getMany(request: ReadManyRequest): Promise<ReadonlyArray<string | null | undefined>> {
    this.keys.push([...request.keys]);
    return super.getMany(request);
  }
}

describe('node-redis client, local tier and failures', () => {
  let client: ReturnType<typeof createClient>;
  beforeAll(async () => {
    client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
  });

  // One node-redis server: the tier's tracking hears only the keys read on its own connection, so a
  // local function's entries are read there, each as a single call would (pipelined), not by MGET.
  test('entries the local tier holds are served from it: only the others are read, on the tracking connection', async () => {
    const store = new KeysRead(new RedisStore(client as unknown as RedisLike));
    const memoize = createMemoizer({ store, keyPrefix: uniquePrefix('many-local') });
    let runs = 0;
    const f = memoize(
      async (id: number) => {
        runs++;
        return id + 100;
      },
      { name: 'plus', local: true },
    );
    await f.many([[1], [2]]);
    // The tier keeps a value read while tracking is on: read again until both are local.
    await until(async () => {
      const reads = store.calls.get;
      await f.many([[1], [2]]);
      return store.calls.get === reads;
    }, 'both entries served by the local tier');
    const reads = store.calls.get;
    const before = await commandCalls([server.url]);
    expect(await f.many([[2], [3], [1]])).toEqual([102, 103, 101]);
    const after = await commandCalls([server.url]);
    // Only the entry the tier does not hold is read (then computed), and never by MGET.
    expect(store.calls.get - reads).toBe(1);
    expect(delta(before, after, ['mget'])).toEqual({ mget: 0 });
    expect(store.keys).toEqual([]);
    expect(runs).toBe(3);
  });

  test('a store without getMany reads each entry as a single call would', async () => {
    const store = new CountingStore(new RedisStore(client as unknown as RedisLike));
    (store as { getMany?: unknown }).getMany = undefined;
    const memoize = createMemoizer({ store, keyPrefix: uniquePrefix('many-single') });
    const f = memoize(async (id: number) => id * 2, { name: 'double' });
    expect(await f.many([[1], [2], [1]])).toEqual([2, 4, 2]);
    expect(store.calls.get).toBe(2);
  });

  test('a store that does not answer: every entry is computed without it, within the timeout', async () => {
    const errors: string[] = [];
    const memoize = createMemoizer({
      client: client as unknown as RedisLike,
      keyPrefix: uniquePrefix('many-down'),
      timeout: 100,
      onError: ({ error }) => errors.push(error.code),
    });
    const f = memoize(async (id: number) => id * 3, { name: 'triple' });
    await f.many([[1], [2]]);
    server.pause();
    try {
      const started = performance.now();
      expect(await f.many([[1], [2], [3]])).toEqual([3, 6, 9]);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(errors.length).toBeGreaterThan(0);
      expect(new Set(errors)).toEqual(new Set(['E_TIMEOUT']));
    } finally {
      server.resume();
    }
  });

  test('argument lists that are not arrays are a TypeError', async () => {
    const memoize = createMemoizer({ client: client as unknown as RedisLike, keyPrefix: uniquePrefix('many-type') });
    const f = memoize(async (id: number) => id, { name: 'same' });
    await expect(f.many([1] as never)).rejects.toThrow(TypeError);
    await expect(f.many('1' as never)).rejects.toThrow(/array of argument lists/);
  });
});

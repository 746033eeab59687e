import keySlot from 'cluster-key-slot';
import Redis, { Cluster } from 'ioredis';
import { createCluster, createSentinel } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import type { RedisLike } from '../lib/stores/redis/drivers';
import { PerMasterTracking } from '../lib/stores/redis/per-master-tracking';
import { RedisStore } from '../lib/stores/redis/store';
import { isTracking, parseClientList } from './helpers/connections';
import { ready, startupNodes } from './helpers/ioredis';
import { listen } from './helpers/local';
import { sleep, uniquePrefix, until } from './helpers/redis';
import { type RedisCluster, redisCli, spawnRedisCluster } from './helpers/redis-cluster';
import { type SentinelGroup, spawnSentinelGroup } from './helpers/redis-sentinel';

// The local tier in reads mode on the deployments of several servers: a Redis Cluster (3 masters)
// and a Sentinel group, through node-redis's objects and ioredis's. Each master's tracking connection
// of the library is in Redis's default mode (not broadcast), and the tier reads what it keeps on the
// tracking connection of the key's master: so a process hears the changes of the entries it read,
// wherever they live, and nothing of the others; a tagged entry's tag keys, on other masters, are
// read there too, and their invalidation evicts. Servers of this file's own, so that every tracking
// connection on them is this file's.

let cluster: RedisCluster;
let group: SentinelGroup;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
  group = await spawnSentinelGroup();
}, 60_000);
afterAll(async () => {
  await Promise.all([cluster?.stop(), group?.stop()]);
});

interface Opened {
  readonly client: RedisLike;
  close(): Promise<void>;
}

type Kind = 'node-redis cluster' | 'node-redis sentinel' | 'ioredis Cluster' | 'ioredis Redis with sentinels';

/** A connected object of `kind`, its connections named `name`. */
async function open(kind: Kind, name: string): Promise<Opened> {
  switch (kind) {
    case 'node-redis cluster': {
      const c = createCluster({ rootNodes: cluster.rootNodes, defaults: { name } });
      c.on('error', () => {});
      await c.connect();
      return { client: c as unknown as RedisLike, close: () => c.close() };
    }
    case 'node-redis sentinel': {
      const s = createSentinel({ name: group.name, sentinelRootNodes: group.sentinels, nodeClientOptions: { name } });
      s.on('error', () => {});
      await s.connect();
      return { client: s as unknown as RedisLike, close: () => s.close() };
    }
    case 'ioredis Cluster': {
      const c = new Cluster(startupNodes(cluster), { redisOptions: { connectionName: name } });
      c.on('error', () => {});
      await ready(c);
      return { client: c as unknown as RedisLike, close: async () => c.disconnect() };
    }
    case 'ioredis Redis with sentinels': {
      const r = new Redis({ sentinels: group.sentinels, name: group.name, connectionName: name });
      r.on('error', () => {});
      await ready(r);
      return { client: r as unknown as RedisLike, close: async () => r.disconnect() };
    }
  }
}

/** The ports of the deployment's masters now. */
async function masterPorts(kind: Kind): Promise<number[]> {
  return kind.includes('sentinel') ? [await group.masterPort()] : (await cluster.masters()).map((m) => m.port);
}

/** Every connection named `name` with tracking on, on every master. */
async function trackingConnections(kind: Kind, name: string) {
  const lists = await Promise.all((await masterPorts(kind)).map((port) => redisCli(port, 'CLIENT', 'LIST')));
  return lists.flatMap((text) => parseClientList(text)).filter((c) => c.name === name && isTracking(c));
}

/** A memoized `target(id)` of `keyPrefix` over `client`, counting runs and local hits. */
function memoized(client: RedisLike, keyPrefix: string, options: { local?: boolean; tags?: readonly string[] } = {}) {
  const seen = { runs: 0, localHits: 0, version: 1 };
  const store = new RedisStore(client);
  const memoize = createMemoizer({ store, keyPrefix });
  const f = memoize(
    async function target(id: number) {
      seen.runs++;
      return { id, version: seen.version };
    },
    {
      ...options,
      onHit: (e) => {
        if (e.local === true) seen.localHits++;
      },
    },
  );
  return { store, memoize, f, seen };
}

/** Calls `f(id)` until it is a local hit (or, with `evicted`, until it is not). */
async function untilLocal(p: ReturnType<typeof memoized>, id: number, evicted = false): Promise<void> {
  await until(
    async () => {
      const before = p.seen.localHits;
      await p.f(id);
      return p.seen.localHits > before !== evicted;
    },
    evicted ? `${id} evicted` : `a local hit of ${id}`,
    5000,
  );
}

describe.each<Kind>(['node-redis cluster', 'node-redis sentinel', 'ioredis Cluster', 'ioredis Redis with sentinels'])(
  '%s',
  (kind) => {
    let mine: Opened;
    let other: Opened;
    let name: string;
    beforeAll(async () => {
      name = uniquePrefix('reads').replace(/-/g, '_');
      [mine, other] = await Promise.all([open(kind, name), open(kind, `${name}_other`)]);
    }, 30_000);
    afterAll(async () => {
      await Promise.allSettled([mine?.close(), other?.close()]);
    });

    test('tracking in default mode on every master; the process hears only the entries it read', async () => {
      const keyPrefix = uniquePrefix('reads-dep');
      const a = memoized(mine.client, keyPrefix, { local: true });
      const b = memoized(other.client, keyPrefix);
      // Entries on every master (ids hash to slots all over the cluster).
      for (let id = 1; id <= 20; id++) await b.f(id);
      await untilLocal(a, 1);
      expect(a.seen.runs).toBe(0);

      const tracking = await trackingConnections(kind, name);
      expect(tracking.length).toBe((await masterPorts(kind)).length);
      for (const c of tracking) expect(c.flags).not.toContain('B');

      const heard = listen(a.store, a.f.keyFor(1).slice(0, a.f.keyFor(1).indexOf('{')));
      b.seen.version = 2;
      for (let id = 2; id <= 20; id++) await b.f.refresh(id);
      await b.f.refresh(1);
      await until(() => heard.heard.includes(a.f.keyFor(1)), 'the change of the entry read');
      // Pushes from other masters are not ordered with this one's: give them time to arrive.
      await sleep(200);
      expect(heard.heard).toEqual([a.f.keyFor(1)]);
      heard.stop();
      await untilLocal(a, 1, true);
      expect((await a.f(1)).version).toBe(2);
      await a.store.close();
      await b.store.close();
    });

    test('a tagged entry: its tag keys are read on their own masters, and their invalidation evicts', async () => {
      const keyPrefix = uniquePrefix('reads-dep-tags');
      // Tags whose keys hash to other slots than the entry (and, on a cluster, mostly other masters).
      const tags = ['alpha', 'beta', 'gamma'].map((t) => `${keyPrefix}-${t}`);
      const a = memoized(mine.client, keyPrefix, { local: true, tags });
      const b = memoized(other.client, keyPrefix, { tags });
      await b.f(1);
      await untilLocal(a, 1);
      for (const tag of tags) {
        b.seen.version++;
        await b.memoize.invalidateTags([tag]);
        await untilLocal(a, 1, true);
        await untilLocal(a, 1);
      }
      expect(a.seen.runs + b.seen.runs).toBe(1 + tags.length);
      await a.store.close();
      await b.store.close();
    });
  },
);

test('ioredis Cluster: a master this process has not talked to yet is connected for its tracking', async () => {
  // ioredis connects a master's node at its first command there; until every master's tracking is
  // up the tier keeps nothing, so a process that only reads would never keep anything.
  const reader = new Cluster(startupNodes(cluster));
  reader.on('error', () => {});
  const writer = new Cluster(startupNodes(cluster));
  writer.on('error', () => {});
  try {
    await Promise.all([ready(reader), ready(writer)]);
    const keyPrefix = uniquePrefix('reads-lazy');
    const b = memoized(writer as unknown as RedisLike, keyPrefix);
    await b.f(1);
    expect(reader.nodes('master').filter((node) => node.status === 'wait').length).toBeGreaterThan(0);
    const a = memoized(reader as unknown as RedisLike, keyPrefix, { local: true });
    await untilLocal(a, 1);
    expect(a.seen.runs).toBe(0);
    await a.store.close();
    await b.store.close();
  } finally {
    reader.disconnect();
    writer.disconnect();
  }
});

test('node-redis cluster: a value kept locally is evicted when its slot moves, and its changes on the new master are seen', async () => {
  // The tier reads on the tracking connection of the key's master; when a reshard moves the key,
  // MIGRATE deletes it on the old master, which pushes that to whoever read it there.
  const [mine, other] = await Promise.all([open('node-redis cluster', 'moved'), open('node-redis cluster', 'moved_b')]);
  try {
    const keyPrefix = uniquePrefix('reads-moved');
    const a = memoized(mine.client, keyPrefix, { local: true });
    const b = memoized(other.client, keyPrefix);
    await b.f(1);
    await untilLocal(a, 1);
    const slot = keySlot(a.f.keyFor(1));
    const source = await cluster.masterOf(slot);
    const target = (await cluster.masters()).find((m) => m.port !== source.port);
    if (target === undefined) throw new Error('no other master');
    await cluster.beginSlotMigration(slot, source, target);
    await cluster.finishSlotMigration(slot, source, target);
    await untilLocal(a, 1, true);
    // Written on the new master: the value this process keeps again must follow it.
    await untilLocal(a, 1);
    b.seen.version = 2;
    await b.f.refresh(1);
    await until(async () => (await a.f(1)).version === 2, 'the new value seen');
    expect(a.seen.runs).toBe(0);
    await a.store.close();
    await b.store.close();
  } finally {
    await Promise.allSettled([mine.close(), other.close()]);
  }
});

test('a read that no master’s tracking can make rejects, so the tier reads the store and keeps nothing', async () => {
  // No member for the key's master (not tracked yet), or a slot the map does not know.
  for (const masterOf of [() => '127.0.0.1:1', () => undefined]) {
    const tracking = new PerMasterTracking({ masters: () => ['127.0.0.1:1'], track: () => undefined, masterOf });
    try {
      await expect(tracking.read('k')).rejects.toThrow(/no tracking connection/);
      await expect(tracking.readTagged('k', ['cache-memoize:tag{t}'])).rejects.toThrow(/no tracking connection/);
    } finally {
      tracking.close();
    }
  }
});

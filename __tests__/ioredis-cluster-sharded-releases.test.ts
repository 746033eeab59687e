import { performance } from 'node:perf_hooks';
import { Cluster } from 'ioredis';
import { Cluster as Cluster6 } from 'ioredis6';
import { Cluster as ValkeyCluster } from 'iovalkey';
import { createMemoizer } from '../lib';
import type { ChildValue } from './fixtures/ioredis-child';
import { IOREDIS, type IoredisFamily, ioredisCluster, startupNodes } from './helpers/ioredis';
import { connectionTo, counterKeyOf, IoredisChild } from './helpers/ioredis-processes';
import { deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { type RedisCluster, redisCli, spawnRedisCluster } from './helpers/redis-cluster';

// On a Redis Cluster of Redis 7, lock releases over an ioredis Cluster are announced with sharded
// pub/sub (SPUBLISH on a channel in the entry's own slot, heard only through that slot's master),
// like node-redis's. The waiter here is another process (an ioredis 5 Cluster) and, beside it, a
// second Cluster of the family under test in this process. iovalkey 0.4 cannot route sharded
// subscriptions (it sends them all to one node), so it keeps the one PUBLISH channel.

// What is measured is how waiters hear releases: a loaded machine must not make the holder's begin
// miss the deadline (it would compute without taking the lock, and nobody would wait).
const LOADED_MACHINE_TIMEOUT = '2s';

let cluster: RedisCluster;
let child: IoredisChild;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
  child = new IoredisChild(connectionTo(cluster));
  await child.ready;
}, 30_000);
afterAll(async () => {
  await child?.quit();
  await cluster?.stop();
});

/** A reply of every master to `args`, through redis-cli. */
async function everyMaster(...args: string[]): Promise<string[]> {
  return Promise.all((await cluster.masters()).map((m) => redisCli(m.port, ...args)));
}

/** `PUBSUB SHARDNUMSUB <channel>` summed over every master. */
async function shardSubscribers(channel: string): Promise<number> {
  const replies = await everyMaster('PUBSUB', 'SHARDNUMSUB', channel);
  return replies.reduce((sum, reply) => sum + Number(reply.trim().split('\n')[1]), 0);
}

/** Calls of `command` (`INFO commandstats`) summed over every master. */
async function calls(command: 'publish' | 'spublish'): Promise<number> {
  const replies = await everyMaster('INFO', 'commandstats');
  return replies.reduce(
    (sum, reply) => sum + Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(reply)?.[1] ?? 0),
    0,
  );
}

/** The channel an entry's releases are announced on when sharded. */
function channelOf(valueKey: string): string {
  return `cache-memoize:released:${valueKey.slice(valueKey.lastIndexOf('{'))}`;
}

describe.each<[string, IoredisFamily['Cluster']]>([
  ['ioredis 5', Cluster],
  ['ioredis 6', Cluster6 as unknown as IoredisFamily['Cluster']],
])('an %s Cluster', (_name, Family) => {
  let holderCluster: Cluster;
  let waiterCluster: Cluster;
  beforeAll(async () => {
    [holderCluster, waiterCluster] = await Promise.all([
      ioredisCluster(cluster, {}, { ...IOREDIS, Cluster: Family }),
      ioredisCluster(cluster, {}, { ...IOREDIS, Cluster: Family }),
    ]);
  });
  afterAll(() => {
    holderCluster?.disconnect();
    waiterCluster?.disconnect();
  });

  test('SPUBLISHes each release on its entry’s channel, waking the waiters of another process at once', async () => {
    const keyPrefix = uniquePrefix('io-sharded');
    await child.setup({ keyPrefix, computeMs: 0, options: {} });
    let finish = deferred<void>();
    let computing = deferred<void>();
    const holder = createMemoizer({
      client: holderCluster,
      keyPrefix,
      lockTtl: '10s',
      timeout: LOADED_MACHINE_TIMEOUT,
    })(async function target(id: number): Promise<ChildValue> {
      computing.resolve();
      await finish.promise;
      return { id, n: 0, version: 0, pid: process.pid };
    });
    let waiterRan = 0;
    const waiter = createMemoizer({
      client: waiterCluster,
      keyPrefix,
      lockTtl: '10s',
      timeout: LOADED_MACHINE_TIMEOUT,
    })(async function target(id: number): Promise<ChildValue> {
      waiterRan++;
      return { id, n: -1, version: 0, pid: process.pid };
    });
    const before = { spublish: await calls('spublish'), publish: await calls('publish') };
    // Entries in different slots, on different masters; a poll (every 250 ms) wakes a waiter within
    // 100 ms of the release in 2 rounds of 5, so only the announcement wakes both in every round.
    for (let id = 1; id <= 5; id++) {
      finish = deferred<void>();
      computing = deferred<void>();
      const held = holder(id);
      await computing.promise;
      const fromChild = child.ask({ op: 'call', arg: id });
      const here = waiter(id);
      const channel = channelOf(holder.keyFor(id));
      let subscribers = 0;
      await until(
        async () => {
          subscribers = await shardSubscribers(channel);
          return subscribers >= 2;
        },
        `both waiters subscribed to ${channel}`,
        15_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; last count ${subscribers}`);
      });
      await sleep(300);
      const released = performance.now();
      finish.resolve();
      await held;
      const [childReply, value] = await Promise.all([
        fromChild.then((r) => ({ r, ms: performance.now() - released })),
        here.then((v) => ({ v, ms: performance.now() - released })),
      ]);
      expect(childReply.r.value?.pid).toBe(process.pid);
      expect(value.v.n).toBe(0);
      expect(childReply.ms).toBeLessThan(100);
      expect(value.ms).toBeLessThan(100);
    }
    expect(waiterRan).toBe(0);
    expect(Number(await holderCluster.get(counterKeyOf(keyPrefix)))).toBe(0);
    expect((await calls('spublish')) - before.spublish).toBeGreaterThanOrEqual(5);
    expect((await calls('publish')) - before.publish).toBe(0);
  }, 60_000);
});

test('an iovalkey Cluster (no sharded subscriptions) announces on the one PUBLISH channel, and waiters still wake', async () => {
  const clients = [0, 1].map(() => {
    const c = new ValkeyCluster(startupNodes(cluster));
    c.on('error', () => {});
    return c;
  });
  try {
    await Promise.all(clients.map((c) => new Promise((resolve) => c.once('ready', resolve))));
    const keyPrefix = uniquePrefix('valkey-broadcast');
    const finish = deferred<void>();
    const computing = deferred<void>();
    const [a, b] = clients.map((client, i) =>
      createMemoizer({ client, keyPrefix, lockTtl: '10s' })(async function value(_id: number) {
        if (i === 0) {
          computing.resolve();
          await finish.promise;
        }
        return `from ${i}`;
      }),
    ) as unknown as [(id: number) => Promise<string>, (id: number) => Promise<string>];
    const before = { spublish: await calls('spublish'), publish: await calls('publish') };
    const held = a(1);
    await computing.promise;
    const waiting = b(1);
    await sleep(300);
    finish.resolve();
    await held;
    expect(await waiting).toBe('from 0');
    expect((await calls('publish')) - before.publish).toBe(1);
    expect((await calls('spublish')) - before.spublish).toBe(0);
  } finally {
    for (const c of clients) c.disconnect();
  }
}, 30_000);

import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { createMemoizer } from '../lib';
import { type Connected, connectTo, deployment, masterUrls } from './helpers/deployments';
import { deferred, sleep, uniquePrefix, until } from './helpers/redis';

// On a Redis Cluster of Redis 7, lock releases are announced with sharded pub/sub: SPUBLISH on a
// channel in the entry's own slot, heard by the waiters of that entry only, instead of PUBLISH on
// one channel that every node relays to every subscriber. A waiter still wakes as soon as the
// holder releases, not at its next poll.

const cluster = deployment('node-redis cluster');
let holderCluster: Connected;
let waiterCluster: Connected;

/** `PUBSUB SHARDNUMSUB <channel>` summed over every master. */
async function shardSubscribers(channel: string): Promise<number> {
  let total = 0;
  for (const url of await masterUrls(cluster)) {
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    try {
      const reply = (await client.sendCommand(['PUBSUB', 'SHARDNUMSUB', channel])) as unknown[];
      total += Number(reply[1]);
    } finally {
      client.destroy();
    }
  }
  return total;
}

beforeAll(async () => {
  [holderCluster, waiterCluster] = await Promise.all([connectTo(cluster), connectTo(cluster)]);
});

afterAll(async () => {
  await Promise.allSettled([holderCluster?.close(), waiterCluster?.close()]);
});

test('a waiter hears the release on its entry’s sharded channel at once', async () => {
  const keyPrefix = uniquePrefix('sharded');
  const computing = deferred<void>();
  const finish = deferred<void>();
  let waiterRan = 0;
  const holder = createMemoizer({ client: holderCluster.client, keyPrefix, lockTtl: '10s' })(async function value(
    _id: number,
  ) {
    computing.resolve();
    await finish.promise;
    return 'from the holder';
  });
  const waiter = createMemoizer({ client: waiterCluster.client, keyPrefix, lockTtl: '10s' })(async function value(
    _id: number,
  ) {
    waiterRan++;
    return 'from the waiter';
  });
  const channel = `cache-memoize:released:${holder.keyFor(1).slice(holder.keyFor(1).lastIndexOf('{'))}`;

  const held = holder(1);
  await computing.promise;
  const waiting = waiter(1);
  // The waiter listens on its entry's channel in the entry's slot: the stores speak sharded pub/sub.
  await until(async () => (await shardSubscribers(channel)) === 1, 'the waiter on the entry channel');
  // Longer than a poll (250 ms): only the announcement can wake the waiter this early.
  await sleep(300);
  const released = performance.now();
  finish.resolve();
  await held;
  expect(await waiting).toBe('from the holder');
  expect(performance.now() - released).toBeLessThan(200);
  expect(waiterRan).toBe(0);
}, 30_000);

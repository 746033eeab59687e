import IORedis from 'ioredis';
import { createClient, createCluster, createSentinel } from 'redis';
import { spawnRedisCluster } from '../__tests__/helpers/redis-cluster';
import { spawnSentinelGroup } from '../__tests__/helpers/redis-sentinel';
import { spawnRedis } from '../__tests__/helpers/redis-server';
import { createMemoizer } from '../lib';
import type { RedisLike } from '../lib/stores/redis/drivers';
import { asyncRate, compare, consume } from './lib/measure';
import { markdownRow } from './lib/report';

// `npm run bench:deployments`: hits and misses on every kind of client and deployment, as ratios to
// the raw commands through the same client object (a GET + JSON.parse over 100 keys; a SET of a fresh
// key), 100 in flight, interleaved rounds in one process, for node-redis and ioredis objects. Spawns
// its own servers: one redis-server, a 3-master cluster, a Sentinel group.

const LANES = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

interface Subject {
  name: string;
  client: RedisLike & { get(key: string): Promise<unknown>; set(key: string, value: string): Promise<unknown> };
  close(): Promise<unknown>;
}

function relatedPosts(lane: number): Array<{ id: number; title: string; score: number }> {
  return Array.from({ length: 10 }, (_, i) => ({ id: lane * 10 + i, title: `post ${lane}-${i}`, score: i / 7 }));
}

/** The hit row and the miss row of one deployment. */
async function measure(subject: Subject): Promise<{ hit: string; miss: string }> {
  const { client } = subject;
  const keyPrefix = `bench-deploy-${Date.now()}`;
  const raw = Array.from({ length: LANES }, (_, lane) => `${keyPrefix}:raw:{${lane}}`);
  for (let lane = 0; lane < LANES; lane++) await client.set(raw[lane] as string, JSON.stringify(relatedPosts(lane)));
  const memoize = createMemoizer({ client, keyPrefix, ttl: '1h' });
  const f = memoize(async function related(lane: number) {
    return relatedPosts(lane);
  });
  for (let lane = 0; lane < LANES; lane++) await f(lane);
  const bare =
    typeof (client as { withCommandOptions?: unknown }).withCommandOptions === 'function'
      ? (client as unknown as { withCommandOptions(o: object): Subject['client'] }).withCommandOptions({ timeout: 0 })
      : client;
  const hits = await compare({
    baseline: (ms) =>
      asyncRate(async (lane) => consume(JSON.parse(String(await bare.get(raw[lane] as string)))), LANES, ms),
    candidate: (ms) => asyncRate(async (lane) => consume(await f(lane)), LANES, ms),
    rounds: ROUNDS,
    roundMs: 300,
    warmupMs: 300,
  });
  // Misses: a never-used argument per call, against writing the same value under a fresh key. On a
  // loaded machine they must measure the store's work, not the deadline's shortcut.
  const fresh = createMemoizer({ client, keyPrefix, ttl: '1h', timeout: '10s', circuitBreaker: false })(
    async function computed(n: number) {
      return relatedPosts(n);
    },
  );
  let next = LANES;
  const misses = await compare({
    baseline: (ms) =>
      asyncRate(
        () => {
          const n = next++;
          return bare.set(`${keyPrefix}:raw-miss:{${n}}`, JSON.stringify(relatedPosts(n)));
        },
        LANES,
        ms,
      ),
    candidate: (ms) => asyncRate(() => fresh(next++), LANES, ms),
    rounds: ROUNDS,
    roundMs: 300,
    warmupMs: 300,
  });
  await f.invalidateAll();
  await fresh.invalidateAll();
  return { hit: markdownRow(subject.name, hits), miss: markdownRow(subject.name, misses) };
}

async function main(): Promise<void> {
  const [server, cluster, group] = await Promise.all([
    spawnRedis(),
    spawnRedisCluster({ masters: 3 }),
    spawnSentinelGroup(),
  ]);
  const rows: Array<{ hit: string; miss: string }> = [];
  try {
    const subjects: Array<() => Promise<Subject>> = [
      async () => {
        const client = createClient({ url: server.url });
        client.on('error', () => {});
        await client.connect();
        return {
          name: 'node-redis client',
          client: client as unknown as Subject['client'],
          close: () => client.close(),
        };
      },
      async () => {
        const client = createCluster({ rootNodes: cluster.rootNodes });
        client.on('error', () => {});
        await client.connect();
        return {
          name: 'node-redis cluster (3 masters)',
          client: client as unknown as Subject['client'],
          close: () => client.close(),
        };
      },
      async () => {
        const client = createSentinel({ name: group.name, sentinelRootNodes: group.sentinels });
        client.on('error', () => {});
        await client.connect();
        return {
          name: 'node-redis sentinel',
          client: client as unknown as Subject['client'],
          close: () => client.close(),
        };
      },
      async () => {
        const client = new IORedis(server.port, '127.0.0.1', { enableOfflineQueue: false, lazyConnect: true });
        client.on('error', () => {});
        await client.connect();
        return { name: 'ioredis Redis', client: client as unknown as Subject['client'], close: () => client.quit() };
      },
      async () => {
        const nodes = cluster.rootNodes.map(({ url }) => {
          const { hostname, port } = new URL(url);
          return { host: hostname, port: Number(port) };
        });
        const client = new IORedis.Cluster(nodes, { enableOfflineQueue: false, lazyConnect: true });
        client.on('error', () => {});
        await client.connect();
        return {
          name: 'ioredis Cluster (3 masters)',
          client: client as unknown as Subject['client'],
          close: () => client.quit(),
        };
      },
      async () => {
        const client = new IORedis({ sentinels: group.sentinels, name: group.name, lazyConnect: true });
        client.on('error', () => {});
        await client.connect();
        return {
          name: 'ioredis Redis with sentinels',
          client: client as unknown as Subject['client'],
          close: () => client.quit(),
        };
      },
    ];
    for (const make of subjects) {
      const subject = await make();
      try {
        rows.push(await measure(subject));
      } finally {
        await subject.close();
      }
    }
  } finally {
    await Promise.allSettled([server.stop(), cluster.stop(), group.stop()]);
  }
  const header = '| client | raw ops/s | cache-memoize ops/s | ratio (round range) |\n|---|---:|---:|---:|\n';
  process.stdout.write(
    `hit, ${LANES} in flight over ${LANES} keys, ${ROUNDS} interleaved rounds; ratio = memoized hit / raw GET + JSON.parse on the same client\n\n` +
      `${header}${rows.map((r) => r.hit).join('\n')}\n\n` +
      `miss, ${LANES} in flight, a fresh argument per call; ratio = memoized miss / raw JSON.stringify + SET of a fresh key on the same client\n\n` +
      `${header}${rows.map((r) => r.miss).join('\n')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});

import { Cluster as IoredisCluster } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { spawnRedisCluster } from '../__tests__/helpers/redis-cluster';
import { spawnRedis } from '../__tests__/helpers/redis-server';
import { createMemoizer } from '../lib';
import type { RedisLike } from '../lib/stores/redis/drivers';
import { asyncRate, compare } from './lib/measure';

// `npm run bench:many`: `f.many` of 100 entries, all hits, against 100 single calls made at once
// (`Promise.all`), in batches per second, interleaved rounds in one process. Over a single server
// and a 3-master cluster (node-redis, and an ioredis cluster), on servers it spawns.

const KEYS = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const ROUND_MS = 300;

interface Subject {
  name: string;
  client: RedisLike;
  close(): Promise<unknown>;
}

function relatedPosts(id: number): Array<{ id: number; title: string; score: number }> {
  return Array.from({ length: 10 }, (_, i) => ({ id: id * 10 + i, title: `post ${id}-${i}`, score: i / 7 }));
}

async function measure(subject: Subject): Promise<string> {
  let runs = 0;
  const f = createMemoizer({ client: subject.client, keyPrefix: `bench-many-${Date.now()}`, ttl: '1h' })(
    async function related(id: number) {
      runs++;
      return relatedPosts(id);
    },
  );
  const ids = Array.from({ length: KEYS }, (_, i) => i);
  const argsList = ids.map((id): [number] => [id]);
  await f.many(argsList);
  const primed = runs;
  if (primed !== KEYS) throw new Error(`${subject.name}: priming computed ${primed}, expected ${KEYS}`);
  const batch = async () => {
    const results = await f.many(argsList);
    if (results.length !== KEYS) throw new Error('f.many lost results');
    return results;
  };
  const singles = () => Promise.all(ids.map((id) => f(id)));
  const comparison = await compare({
    baseline: (ms) => asyncRate(singles, 1, ms),
    candidate: (ms) => asyncRate(batch, 1, ms),
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    warmupMs: ROUND_MS,
  });
  if (runs !== primed) throw new Error(`${subject.name}: ${runs - primed} calls missed during the benchmark`);
  const perSecond = (n: number) => Math.round(n).toLocaleString('en-US').padStart(7);
  return [
    subject.name.padEnd(20),
    perSecond(comparison.baselineMedian),
    perSecond(comparison.candidateMedian),
    `${comparison.ratio.toFixed(2)}x`.padStart(7),
    `${comparison.pairRatioMin.toFixed(2)}x..${comparison.pairRatioMax.toFixed(2)}x`.padStart(14),
  ].join('  ');
}

async function main(): Promise<void> {
  const server = await spawnRedis();
  const cluster = await spawnRedisCluster({ masters: 3 });
  const lines: string[] = [];
  try {
    const single = createClient({ url: server.url });
    const nodeCluster = createCluster({ rootNodes: cluster.rootNodes });
    const ioCluster = new IoredisCluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      {},
    );
    for (const c of [single, nodeCluster, ioCluster]) c.on('error', () => {});
    await Promise.all([single.connect(), nodeCluster.connect(), new Promise((r) => ioCluster.once('ready', r))]);
    const subjects: Subject[] = [
      { name: 'node-redis client', client: single as unknown as RedisLike, close: () => single.close() },
      { name: 'node-redis cluster', client: nodeCluster as unknown as RedisLike, close: () => nodeCluster.close() },
      { name: 'ioredis cluster', client: ioCluster as unknown as RedisLike, close: async () => ioCluster.disconnect() },
    ];
    for (const subject of subjects) {
      try {
        lines.push(await measure(subject));
      } finally {
        await subject.close();
      }
    }
  } finally {
    await Promise.allSettled([server.stop(), cluster.stop()]);
  }
  console.log(`f.many of ${KEYS} hits vs ${KEYS} single calls at once (Promise.all): batches/s, medians of ${ROUNDS}`);
  console.log('interleaved rounds of 300 ms; ratio = f.many / singles, range = of single round pairs\n');
  console.log(
    `${'deployment'.padEnd(20)}  ${'singles'.padStart(7)}  ${'f.many'.padStart(7)}  ${'ratio'.padStart(7)}  ${'round range'.padStart(14)}`,
  );
  for (const line of lines) console.log(line);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

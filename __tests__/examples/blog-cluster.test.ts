import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClientType } from 'redis';
import { connect, testRedisUrl, uniquePrefix, until } from '../helpers/redis';
import {
  cacheHit,
  exited,
  fromEveryWorker as fromAll,
  type RunningCluster,
  relatedSlugs,
  startCluster,
  unexpectedStderr,
} from './blog-cluster-helpers';

const WORKERS = 3;

let dataDir: string;
let keyPrefix: string;
let cluster: RunningCluster;
let redis: RedisClientType;

const send = (...args: Parameters<RunningCluster['send']>) => cluster.send(...args);

const fromEveryWorker = (path: string) => fromAll(cluster, path, WORKERS);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'blog-cluster-'));
  keyPrefix = uniquePrefix('blog-cluster');
  redis = await connect();
  cluster = await startCluster(
    { WORKERS: String(WORKERS), REDIS_URL: testRedisUrl(), DATA_DIR: dataDir, KEY_PREFIX: keyPrefix },
    `${WORKERS} workers listening`,
  );
}, 60_000);

afterAll(async () => {
  await cluster?.kill();
  for await (const keys of redis.scanIterator({ MATCH: `${keyPrefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) await redis.unlink(keys);
  }
  await redis.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it('prints the cost of the uncached query at startup', () => {
  expect(cluster.output()).toMatch(/related-posts query: \d+\.\d ms uncached/);
});

it('three workers share one cache: a post misses once, then every worker hits, from Redis or its local tier', async () => {
  const index = await send('GET', '/');
  const [a, b] = [...index.body.matchAll(/href="(\/posts\/[^"]+)"/g)].map((m) => m[1] as string);
  if (a === undefined || b === undefined) throw new Error('no posts on the index page');

  const warm = await send('GET', a);
  expect(warm.headers['x-cache']).toBe('miss');
  // Twice round: a worker's first read comes from Redis, and its local tier answers later ones.
  const served = [...(await fromEveryWorker(a)).values(), ...(await fromEveryWorker(a)).values()].flat();
  for (const reply of served) expect(cacheHit(reply)).toBe(true);
  const counts = {
    localHits: served.filter((reply) => reply.headers['x-cache'] === 'local').length,
    hits: served.filter((reply) => reply.headers['x-cache'] === 'hit').length,
    misses: 1,
  };
  expect(counts.hits).toBeGreaterThanOrEqual(WORKERS);
  expect(counts.localHits).toBeGreaterThan(0);

  const readStats = async () =>
    [...(await fromEveryWorker('/stats')).values()].map((replies) => JSON.parse(replies.at(-1)?.body ?? ''));
  let stats = await readStats();
  for (const field of ['localHits', 'hits', 'misses'] as const) {
    expect(stats.reduce((sum, s) => sum + s.worker[field], 0)).toBe(counts[field]);
  }
  // The cluster-wide counters are incremented without waiting (a page never waits for a counter):
  // a worker's last increment may reach Redis after another worker read them.
  await until(async () => {
    stats = await readStats();
    return stats.every((s) => JSON.stringify(s.cluster) === JSON.stringify(counts));
  }, 'the cluster-wide counts to catch up');
  for (const s of stats) expect(s.cluster).toEqual(counts);

  // Edit through one worker; every worker must then serve the fresh lists.
  expect((await send('POST', `${b}/edit`, { title: 'Post B', keywords: 'cluster-pair' })).status).toBe(303);
  expect((await send('POST', `${a}/edit`, { title: 'Post A', keywords: 'cluster-pair' })).status).toBe(303);
  const slugOf = (path: string) => decodeURIComponent(path.slice('/posts/'.length));
  for (const replies of (await fromEveryWorker(a)).values()) {
    for (const reply of replies) {
      expect(cacheHit(reply)).toBe(true);
      expect(relatedSlugs(reply.body)).toEqual([slugOf(b)]);
    }
  }
  for (const replies of (await fromEveryWorker(b)).values()) {
    for (const reply of replies) expect(relatedSlugs(reply.body)).toEqual([slugOf(a)]);
  }
});

it('shuts down on SIGTERM: every process exits 0, nothing on stderr', async () => {
  const before = cluster.stderr().length;
  process.kill(-(cluster.child.pid as number), 'SIGTERM');
  expect(await exited(cluster.child)).toBe(0);
  expect(cluster.stderr().slice(before)).toBe('');
  expect(unexpectedStderr(cluster.stderr())).toEqual([]);
});

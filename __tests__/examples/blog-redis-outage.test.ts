import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Db, openDatabase } from '../../examples/blog/database';
import { createPostRepository, type PostRepository } from '../../examples/blog/posts';
import { closeRedis, connectRedis, probeRedis } from '../../examples/blog/redis';
import { seedIfEmpty } from '../../examples/blog/seed';
import { freePort, type RedisServer, spawnRedis } from '../helpers/redis-server';
import {
  cacheHit,
  exited,
  fromEveryWorker,
  type Reply,
  type RunningCluster,
  relatedSlugs,
  startCluster,
  waitFor,
} from './blog-cluster-helpers';

// The example's own Redis, which the tests kill, pause and restart (not the suite's shared one).
const WORKERS = 2;
const LOST = 'serving pages uncached until it is back';

let dataDir: string;
let db: Db;
let posts: PostRepository;
let redis: RedisServer;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'blog-outage-'));
  // Seeded here once; the clusters below find it seeded.
  db = openDatabase(dataDir);
  seedIfEmpty(db);
  posts = createPostRepository(db);
  redis = await spawnRedis();
});

afterAll(async () => {
  await redis?.stop();
  db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const count = (text: string, part: string) => text.split(part).length - 1;

/** A post page's path and the related slugs it must show. */
function post(offset: number): { path: string; related: string[] } {
  const summary = posts.list(offset, 1)[0];
  if (summary === undefined) throw new Error('the seed has too few posts');
  const related = posts.related(summary.id).posts.map((p) => p.slug);
  expect(related).toHaveLength(10);
  return { path: `/posts/${encodeURIComponent(summary.slug)}`, related };
}

/** GETs `path` and checks that it answered 200 with the right related posts; returns the reply and its time. */
async function page(cluster: RunningCluster, path: string, related: string[]): Promise<Reply & { ms: number }> {
  const started = performance.now();
  const reply = await cluster.send('GET', path);
  const ms = performance.now() - started;
  expect(reply.status).toBe(200);
  expect(relatedSlugs(reply.body)).toEqual(related);
  return { ...reply, ms };
}

/** Asks every worker for `path` and expects a cache hit (from Redis or its local tier) from each. */
async function hitEverywhere(cluster: RunningCluster, path: string, related: string[]): Promise<void> {
  for (const replies of (await fromEveryWorker(cluster, path, WORKERS)).values()) {
    for (const reply of replies) {
      expect(cacheHit(reply)).toBe(true);
      expect(relatedSlugs(reply.body)).toEqual(related);
    }
  }
}

describe('a cluster whose Redis fails', () => {
  let cluster: RunningCluster;

  beforeAll(async () => {
    cluster = await startCluster(
      { WORKERS: String(WORKERS), REDIS_URL: redis.url, DATA_DIR: dataDir, KEY_PREFIX: 'blog-outage' },
      `${WORKERS} workers listening`,
    );
  }, 60_000);

  afterAll(async () => {
    await cluster?.kill();
  });

  it('keeps answering while Redis is dead, warns once per worker, and caches again after a restart', async () => {
    const { path, related } = post(200);
    expect((await page(cluster, path, related)).headers['x-cache']).toBe('miss');
    await hitEverywhere(cluster, path, related);

    await redis.kill();
    for (let i = 0; i < 4 * WORKERS; i++) {
      const reply = await page(cluster, path, related);
      // Computed again: the cache is skipped, not waited for.
      expect(reply.headers['x-cache']).toBe('miss');
      expect(reply.ms).toBeLessThan(1000);
    }
    // Several reconnection attempts later, still one warning per worker for this outage.
    await new Promise((r) => setTimeout(r, 1500));
    expect(count(cluster.output(), LOST)).toBe(WORKERS);

    // A fresh, empty server on the same port: the workers reconnect by themselves.
    await redis.restart();
    await waitFor(
      () => count(cluster.output(), 'redis: reconnected') === WORKERS,
      'every worker to reconnect',
      cluster.output,
    );
    expect((await page(cluster, path, related)).headers['x-cache']).toBe('miss');
    await hitEverywhere(cluster, path, related);
    expect(count(cluster.output(), LOST)).toBe(WORKERS);
  }, 30_000);

  it('answers within the deadline while Redis is paused, and hits again once it resumes', async () => {
    const { path, related } = post(201);
    expect((await page(cluster, path, related)).headers['x-cache']).toBe('miss');
    await hitEverywhere(cluster, path, related);

    redis.pause();
    try {
      for (let i = 0; i < 6 * WORKERS; i++) {
        const reply = await page(cluster, path, related);
        // The 250 ms deadline, then the query; once the circuit is open, only the query.
        expect(reply.ms).toBeLessThan(1500);
      }
      const started = performance.now();
      const stats = await cluster.send('GET', '/stats');
      expect(performance.now() - started).toBeLessThan(1000);
      expect(JSON.parse(stats.body)).toMatchObject({ store: 'redis', cluster: null });
    } finally {
      redis.resume();
    }
    // The entry survived the pause: the workers hit again once the circuit lets them ask.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const replies = [...(await fromEveryWorker(cluster, path, WORKERS)).values()].flat();
      if (replies.every(cacheHit)) break;
      if (Date.now() > deadline) throw new Error(`still missing after the pause:\n${cluster.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 30_000);

  it('still shuts down cleanly', async () => {
    process.kill(-(cluster.child.pid as number), 'SIGTERM');
    expect(await exited(cluster.child)).toBe(0);
  });
});

describe('redis.ts', () => {
  it('probeRedis: true for a Redis that answers, false within about 1 s for none', async () => {
    expect(await probeRedis(redis.url)).toBe(true);
    const started = performance.now();
    expect(await probeRedis(`redis://127.0.0.1:${await freePort()}`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('connectRedis: without Redis, returns the client after 1 s, which connects once Redis starts', async () => {
    const port = await freePort();
    const warn = jest.fn();
    const started = performance.now();
    const client = await connectRedis(`redis://127.0.0.1:${port}`, { warn });
    try {
      expect(performance.now() - started).toBeLessThan(2000);
      expect(client.isReady).toBe(false);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(LOST));

      const late = await spawnRedis({ port });
      try {
        await waitFor(
          () => client.isReady,
          'the client to connect',
          () => String(warn.mock.calls),
        );
        expect(warn).toHaveBeenLastCalledWith('redis: connected');
        expect(warn).toHaveBeenCalledTimes(2);
        expect(await client.ping()).toBe('PONG');
      } finally {
        await closeRedis(client);
        await late.stop();
      }
    } finally {
      client.destroy();
    }
  });
});

describe('a cluster without Redis', () => {
  it('falls back to one worker caching in process', async () => {
    const cluster = await startCluster(
      { WORKERS: String(WORKERS), REDIS_URL: `redis://127.0.0.1:${await freePort()}`, DATA_DIR: dataDir },
      '1 worker listening',
    );
    try {
      expect(cluster.output()).toContain('no Redis answered');
      const { path, related } = post(202);
      expect((await page(cluster, path, related)).headers['x-cache']).toBe('miss');
      expect((await page(cluster, path, related)).headers['x-cache']).toBe('hit');
      const stats = JSON.parse((await cluster.send('GET', '/stats')).body);
      expect(stats).toMatchObject({ store: 'memory', worker: { localHits: 0, hits: 1, misses: 1 } });
      expect(cluster.output()).not.toContain('[stderr]');
    } finally {
      await cluster.kill();
    }
  }, 60_000);
});

import cluster from 'node:cluster';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Config, STORE_ENV } from './config';
import { openDatabase } from './database';
import { medianRelatedMs } from './measure';
import { createPostRepository } from './posts';
import { probeRedis } from './redis';
import { seedIfEmpty } from './seed';

const FORCE_EXIT_MS = 5000;

function log(message: string): void {
  console.log(`blog: ${message}`);
}

/** Seeds and opens the database, then returns a post to suggest, after timing the uncached query. */
function prepareData(dataDir: string): string {
  const started = performance.now();
  const db = openDatabase(dataDir);
  try {
    const seeded = seedIfEmpty(db);
    const file = join(dataDir, 'blog.sqlite');
    const posts = createPostRepository(db);
    const count = posts.count().toLocaleString('en');
    const took = (performance.now() - started).toFixed(0);
    log(seeded > 0 ? `seeded ${count} posts into ${file} in ${took} ms` : `${count} posts in ${file}`);
    log(`related-posts query: ${medianRelatedMs(posts).toFixed(1)} ms uncached (median of 25 posts)`);
    return posts.list(0, 1)[0]?.slug ?? '';
  } finally {
    db.close();
  }
}

/**
 * The cluster primary: prepares the database before any worker exists (so none races the seed),
 * checks that Redis answers, forks the workers, and on SIGINT or SIGTERM waits for them to close.
 */
export async function runPrimary(config: Config): Promise<void> {
  const slug = prepareData(config.dataDir);

  const env: Record<string, string> = {};
  let workers = config.workers;
  if (await probeRedis(config.redisUrl)) {
    log(`Redis at ${config.redisUrl} answered: ${workers} workers share one cache (key prefix '${config.keyPrefix}')`);
  } else {
    log(
      `no Redis answered at ${config.redisUrl} within 1 s; starting one worker with the in-process ` +
        'MemoryStore instead (start redis-server or set REDIS_URL to see workers share a cache)',
    );
    workers = 1;
    env[STORE_ENV] = 'memory';
  }

  let alive = 0;
  let listening = 0;
  let stopping = false;
  cluster.on('listening', () => {
    listening++;
    if (listening !== workers) return;
    const url = `http://localhost:${config.port}`;
    log(`${workers} worker${workers === 1 ? '' : 's'} listening on ${url} (Ctrl-C to stop)`);
    log(`try ${url}/posts/${slug} and ${url}/stats`);
  });
  cluster.on('exit', (worker, code, signal) => {
    alive--;
    if (!stopping) log(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`})`);
    if (alive === 0) process.exit(stopping ? 0 : 1);
  });
  for (let i = 0; i < workers; i++) {
    cluster.fork(env);
    alive++;
  }

  const stop = () => {
    if (stopping) return;
    stopping = true;
    // On Ctrl-C the workers got SIGINT too; a SIGTERM sent to the primary alone reaches them here.
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    }, FORCE_EXIT_MS).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

// npx tsx examples/quick-start.ts   (Redis at CACHE_MEMOIZE_REDIS_URL, else redis://127.0.0.1:6379)
import { configure, createResilientClient, memoize } from 'cache-memoize';

// A stand-in for your database: a slow query that says when it runs.
const db = {
  async relatedPosts(id: number): Promise<number[]> {
    console.log(`  db: related posts of ${id} (100 ms)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return [id + 1, id + 2, id + 3];
  },
};

// Safe at module load, before configure(): the store is looked up at call time.
const getRelatedPosts = memoize(
  async function getRelatedPosts(id: number) {
    return db.relatedPosts(id);
  },
  { ttl: '1h', keyPrefix: 'quick-start' },
);

async function main(): Promise<void> {
  // Connects in the background and reconnects forever; calls made while Redis is away run uncached.
  const redis = createResilientClient(process.env.CACHE_MEMOIZE_REDIS_URL ?? 'redis://127.0.0.1:6379');
  configure({
    client: redis,
    onHit: ({ args }) => console.log(`  hit: getRelatedPosts(${args}) came from Redis`),
    onMiss: ({ args }) => console.log(`  miss: getRelatedPosts(${args}) ran the function`),
    onError: ({ error }) => console.warn(`  ${error.code}: ${error.message}`),
  });
  try {
    // An app need not wait: it serves uncached until Redis is there. A script this short waits (up
    // to 2 s) so that its first call can already be cached.
    await new Promise((resolve) => {
      redis.once('ready', resolve);
      setTimeout(resolve, 2000).unref();
    });

    // In a route: res.json(await getRelatedPosts(Number(req.params.id)))
    console.log('first call:', await getRelatedPosts(42)); // a miss (a hit if this ran before: Redis kept it)
    console.log('second call:', await getRelatedPosts(42)); // a hit: no query

    // In the update handler, after saving post 42: drop the entry, or recompute and store it now.
    await getRelatedPosts.invalidate(42);
    console.log('after invalidate:', await getRelatedPosts(42)); // a miss
    console.log('refresh:', await getRelatedPosts.refresh(42)); // runs the query, stores the result
    console.log('after refresh:', await getRelatedPosts(42)); // a hit
  } finally {
    redis.destroy();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

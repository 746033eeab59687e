import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { createMemoizer } from '../lib';
import { asyncRate, compare } from './lib/measure';
import { benchRedis } from './lib/redis-server';
import { type BenchResult, verdict } from './lib/report';

/** Settings of {@link runHit}. */
export interface HitOptions {
  rounds: number;
  /** Length of one round of one contender. @default 400 */
  roundMs?: number;
}

/** What {@link runHit} measured, and against which server. */
export interface HitReport {
  redisServer: string;
  results: BenchResult[];
}

interface RelatedPost {
  id: number;
  slug: string;
  title: string;
  publishedAt: string;
}

const LANES = 100;

/** The cached value: ten related posts, as a blog would store them (dates as ISO strings). */
function relatedPosts(postId: number): RelatedPost[] {
  return Array.from({ length: 10 }, (_, i) => {
    const id = postId * 10 + i + 1;
    return {
      id,
      slug: `how-we-cache-things-part-${id}`,
      title: `How we cache things, part ${id}`,
      publishedAt: new Date(Date.UTC(2024, i, 1 + (id % 28), 9, 30)).toISOString(),
    };
  });
}

/**
 * Hit path: a memoized call whose entry is already in Redis, against `client.get` + `JSON.parse` of
 * the same value, on one shared node-redis client. Spawns its own redis-server unless `REDIS_URL` is set.
 */
export async function runHit(options: HitOptions): Promise<HitReport> {
  const { rounds, roundMs = 400 } = options;
  const redis = await benchRedis();
  const client = createClient({ url: redis.url });
  client.on('error', (error: unknown) => console.error('redis client error:', error));
  try {
    await client.connect();
    const info = await client.info('server');
    const redisServer = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';

    const keyPrefix = `bench-${randomUUID().slice(0, 8)}`;
    const memoize = createMemoizer({ client, keyPrefix, ttl: '1h' });
    let computed = 0;
    const getRelatedPosts = memoize(async function getRelatedPosts(postId: number) {
      computed++;
      return relatedPosts(postId);
    });
    const rawKeys = Array.from({ length: LANES }, (_, lane) => `${keyPrefix}:raw:{${lane}}`);

    // Every lane gets its own entry, so concurrent lanes measure hits rather than single-flight joins.
    for (let lane = 0; lane < LANES; lane++) {
      await getRelatedPosts(lane);
      await client.set(rawKeys[lane] ?? '', JSON.stringify(relatedPosts(lane)), { PX: 3_600_000 });
    }
    if (computed !== LANES) throw new Error(`priming computed ${computed} entries, expected ${LANES}`);
    const sample = JSON.stringify(await getRelatedPosts(7));
    if (sample !== JSON.stringify(relatedPosts(7))) throw new Error('memoized hit returned a different value');

    const raw = async (lane: number): Promise<RelatedPost[]> => {
      const text = await client.get(rawKeys[lane] ?? '');
      if (text === null) throw new Error('raw key vanished');
      return JSON.parse(text) as RelatedPost[];
    };
    const memo = (lane: number): Promise<RelatedPost[]> => getRelatedPosts(lane);
    // RedisStore turns off node-redis's per-command timeout (its own deadline replaces it); this
    // baseline does the same, to show what that is worth apart from the rest of the hit path.
    const bare = client.withCommandOptions({ timeout: 0 });
    const rawBare = async (lane: number): Promise<RelatedPost[]> => {
      const text = await bare.get(rawKeys[lane] ?? '');
      if (text === null) throw new Error('raw key vanished');
      return JSON.parse(text) as RelatedPost[];
    };

    const plain = { baseline: raw, baselineName: 'client.get + JSON.parse' };
    const cases = [
      { name: 'sequential', inFlight: 1, lane: (i: number) => i, target: undefined, ...plain },
      { name: `${LANES} in flight, ${LANES} keys`, inFlight: LANES, lane: (i: number) => i, target: 0.85, ...plain },
      // Same arguments in every lane: single-flight lets concurrent callers share one GET.
      { name: `${LANES} in flight, 1 key`, inFlight: LANES, lane: () => 0, target: undefined, ...plain },
      {
        name: `${LANES} in flight, ${LANES} keys, vs GET without node-redis timeout`,
        inFlight: LANES,
        lane: (i: number) => i,
        target: undefined,
        baseline: rawBare,
        baselineName: 'client.get ({ timeout: 0 }) + JSON.parse',
      },
    ];
    const results: BenchResult[] = [];
    for (const c of cases) {
      const comparison = await compare({
        baseline: (ms) => asyncRate((i) => c.baseline(c.lane(i)), c.inFlight, ms),
        candidate: (ms) => asyncRate((i) => memo(c.lane(i)), c.inFlight, ms),
        rounds,
        roundMs,
        warmupMs: roundMs,
      });
      results.push(
        verdict(
          comparison,
          {
            suite: 'hit',
            case: c.name,
            baselineName: c.baselineName,
            candidateName: 'memoized call (cached)',
          },
          c.target,
        ),
      );
    }
    if (computed !== LANES) throw new Error(`${computed - LANES} calls missed the cache during the benchmark`);

    await getRelatedPosts.invalidateAll();
    await client.unlink(rawKeys);
    return { redisServer, results };
  } finally {
    if (client.isOpen) await client.quit();
    await redis.stop();
  }
}

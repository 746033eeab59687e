/** Hit and miss counts of `getRelatedPosts`. */
export interface Counts {
  hits: number;
  misses: number;
}

/** What `GET /stats` returns. */
export interface StatsSnapshot {
  /** The worker that answered. */
  pid: number;
  /** Where cached values live: one shared Redis, or this process only. */
  store: 'redis' | 'memory';
  /** This worker's counts since it started. */
  worker: Counts;
  /**
   * Every worker's counts, kept in Redis; with the memory store, the one process's own.
   * `null` when Redis could not be read.
   */
  cluster: Counts | null;
}

/** The two Redis hash commands the cluster-wide counters need (node-redis names). */
export interface CounterClient {
  hIncrBy(key: string, field: string, increment: number): Promise<unknown>;
  hmGet(key: string, fields: string[]): Promise<unknown>;
}

/** Counts cache hits and misses in this worker and, given a client, across the cluster. */
export interface Stats {
  record(outcome: 'hit' | 'miss'): void;
  snapshot(): Promise<StatsSnapshot>;
}

const FIELD = { hit: 'hits', miss: 'misses' } as const;

/**
 * Creates the counters. With a client, every worker also increments the hash `key` in Redis. Reading
 * the cluster-wide counts waits at most `timeoutMs` (default 250, like the memoizer's deadline), so
 * `/stats` stays fast while Redis is slow or paused.
 *
 * @example
 * ```ts
 * const stats = createStats({ client, key: 'blog:stats' });
 * createMemoizer({ client, onHit: () => stats.record('hit'), onMiss: () => stats.record('miss') });
 * ```
 */
export function createStats(options: { client?: CounterClient; key: string; timeoutMs?: number }): Stats {
  const { client, key, timeoutMs = 250 } = options;
  const worker: Counts = { hits: 0, misses: 0 };

  return {
    record(outcome) {
      worker[FIELD[outcome]]++;
      // Fire and forget: a page never waits for, or fails because of, a counter.
      client?.hIncrBy(key, FIELD[outcome], 1).catch(() => {});
    },
    async snapshot() {
      const own = { ...worker };
      if (client === undefined) return { pid: process.pid, store: 'memory', worker: own, cluster: own };
      let cluster: Counts | null = null;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      try {
        const read = client.hmGet(key, [FIELD.hit, FIELD.miss]);
        read.catch(() => {});
        const [hits, misses] = (await Promise.race([read, timedOut])) as (string | null)[];
        cluster = { hits: Number(hits ?? 0), misses: Number(misses ?? 0) };
      } catch {
        // Reported as null (failed or too slow): the worker's own counts are still worth showing.
      } finally {
        clearTimeout(timer);
      }
      return { pid: process.pid, store: 'redis', worker: own, cluster };
    },
  };
}

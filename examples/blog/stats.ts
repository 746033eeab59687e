/** How the calls of `getRelatedPosts` were answered. */
export interface Counts {
  /** From the worker's own local tier, with no round trip. */
  localHits: number;
  /** From the store: Redis (or, without one, the in-process `MemoryStore`). */
  hits: number;
  /** By running the query. */
  misses: number;
}

/** What a hook saw: a local hit, a store hit, or a miss. */
export type Answer = 'local' | 'hit' | 'miss';

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

/** Counts local hits, store hits and misses in this worker and, given a client, across the cluster. */
export interface Stats {
  record(answer: Answer): void;
  /** This worker's counts, without asking Redis. */
  worker(): Counts;
  snapshot(): Promise<StatsSnapshot>;
}

const FIELD = { local: 'localHits', hit: 'hits', miss: 'misses' } as const satisfies Record<Answer, keyof Counts>;
const FIELDS = [FIELD.local, FIELD.hit, FIELD.miss];

/**
 * Creates the counters. With a client, every worker also increments the hash `key` in Redis. Reading
 * the cluster-wide counts waits at most `timeoutMs` (default 250, like the memoizer's deadline), so
 * `/stats` stays fast while Redis is slow or paused.
 *
 * @example
 * ```ts
 * const stats = createStats({ client, key: 'blog:stats' });
 * createMemoizer({
 *   client,
 *   onHit: (event) => stats.record(event.local ? 'local' : 'hit'),
 *   onMiss: () => stats.record('miss'),
 * });
 * ```
 */
export function createStats(options: { client?: CounterClient; key: string; timeoutMs?: number }): Stats {
  const { client, key, timeoutMs = 250 } = options;
  const worker: Counts = { localHits: 0, hits: 0, misses: 0 };

  return {
    record(answer) {
      worker[FIELD[answer]]++;
      // Fire and forget: a page never waits for, or fails because of, a counter.
      client?.hIncrBy(key, FIELD[answer], 1).catch(() => {});
    },
    worker: () => ({ ...worker }),
    async snapshot() {
      const own = { ...worker };
      if (client === undefined) return { pid: process.pid, store: 'memory', worker: own, cluster: own };
      let cluster: Counts | null = null;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      try {
        const read = client.hmGet(key, FIELDS);
        read.catch(() => {});
        const [localHits, hits, misses] = (await Promise.race([read, timedOut])) as (string | null)[];
        cluster = { localHits: Number(localHits ?? 0), hits: Number(hits ?? 0), misses: Number(misses ?? 0) };
      } catch {
        // Reported as null (failed or too slow): the worker's own counts are still worth showing.
      } finally {
        clearTimeout(timer);
      }
      return { pid: process.pid, store: 'redis', worker: own, cluster };
    },
  };
}

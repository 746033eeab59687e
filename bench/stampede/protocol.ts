/** The contenders of `npm run bench:stampede`, in report order. */
export const CONTENDERS = [
  { id: 'memoize', label: 'cache-memoize (lock: true, default)' },
  { id: 'memoize-no-lock', label: 'cache-memoize { lock: false }' },
  { id: 'async-cache-dedupe', label: 'async-cache-dedupe (redis storage, ioredis)' },
  { id: 'cache-manager', label: 'cache-manager wrap + @keyv/redis' },
  { id: 'cacheable', label: 'cacheable getOrSet + @keyv/redis secondary' },
] as const;

export type ContenderId = (typeof CONTENDERS)[number]['id'];

/** How long the stampeding function takes, in ms. */
export const WORK_MS = 100;

/** The Redis key a trial's function increments on every execution (in any process). */
export function executionsKey(arg: string): string {
  return `${arg}:executions`;
}

/** Parent to worker. */
export type ToWorker =
  /** Build a fresh memoized function for one trial and warm it up; answer `prepared`. */
  | { op: 'prepare'; prefix: string; arg: string }
  /** The barrier: fire `callers` concurrent calls on `arg` now; answer `done`. */
  | { op: 'go'; callers: number }
  | { op: 'quit' };

/** Worker to parent. */
export type FromWorker =
  | { op: 'ready' }
  | { op: 'prepared' }
  /** Latency of every call in ms (performance.now() in the worker), and the failures, if any. */
  | { op: 'done'; latencies: number[]; errors: string[] }
  /** Setup, warm-up or a protocol step failed; the worker exits after sending this. */
  | { op: 'failed'; error: string };

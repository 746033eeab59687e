import { performance } from 'node:perf_hooks';
import { createMemoizer } from '../../lib';
import { connect, testRedisUrl } from './redis';

// Whether a call left its entry's compute lock behind, seen the way it matters: another process that
// wants the same entry is kept waiting. The other process is a memoizer on a client of its own
// (releases are heard per client), with the same keyPrefix and function name, so the same key.

/** The lock lifetime both sides use: long enough that a lock left behind cannot pass for a quick answer. */
export const LONG_LOCK_TTL = '10s';

/** What the other process's call did. */
export interface OtherCall {
  /** How long its call took. */
  ms: number;
  /** Whether it ran its own function (`false`: it read a stored value). */
  computed: boolean;
}

export interface OtherCallOptions {
  keyPrefix: string;
  /** The memoized function's name (part of the key). */
  name: string;
  args: unknown[];
  /** @default 1000 */
  withinMs?: number;
  url?: string;
}

/**
 * Calls the entry from another process with `lockTtl: '10s'` and resolves once that call has a
 * value, computed or read. If it has none within `withinMs`, the entry's lock is still held: this
 * frees the entry (`invalidate` deletes its lock), lets the waiting call finish, and throws.
 */
export async function callFromOtherProcess(options: OtherCallOptions): Promise<OtherCall> {
  const { keyPrefix, name, args, withinMs = 1000, url = testRedisUrl() } = options;
  const client = await connect(url);
  try {
    let computed = false;
    // An onError hook, so reports (there should be none) are not printed as process warnings.
    const memoize = createMemoizer({ client, keyPrefix, onError: () => {} });
    const f = memoize(
      async (...a: unknown[]) => {
        computed = true;
        return { computedBy: 'other process', args: a };
      },
      { name, lockTtl: LONG_LOCK_TTL },
    );
    const started = performance.now();
    const call = f(...args).then(() => performance.now() - started);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), withinMs);
    });
    const first = await Promise.race([call, late]);
    clearTimeout(timer);
    if (first !== 'late') return { ms: first, computed };
    await f.invalidate(...args);
    const ms = await call;
    throw new Error(
      `another process's call for the same entry had no value within ${withinMs} ms (it had one after ` +
        `${Math.round(ms)} ms, only once the test invalidated the entry): the first call left the entry locked`,
    );
  } finally {
    await client.quit();
  }
}

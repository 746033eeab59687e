import { invalidate, invalidateAll, refresh } from './engine/invalidation';
import { many } from './engine/many';
import { read } from './engine/read-path';
import { type MemoizerContext, Runtime } from './engine/runtime';
import type { FunctionSettings } from './settings';
import type { Store } from './stores/store';

export type { MemoizerContext } from './engine/runtime';

// Read once, as in read-path.ts: under esbuild's CommonJS (tsx) each use of an import costs two getters.
const readCall = read;

/**
 * A memoized function: call it like the original (it always returns a promise), plus cache controls.
 *
 * @typeParam A - the original's parameter list
 * @typeParam R - the original's result, awaited
 */
export interface Memoized<A extends unknown[], R> {
  /**
   * The cached result for these arguments, computing and storing it on a miss. A store that fails,
   * is not connected or misses the `timeout` makes this a miss (reported to `onError`), never a
   * rejection: only the function's own errors reject.
   */
  (...args: A): Promise<R>;
  /**
   * The results for many argument lists, in their order, as if each were a call of its own: the same
   * values, single-flight, locks and reports. The entries the local tier holds are served from it;
   * the others are read together, in one round trip per Redis server (one `MGET` on a single server
   * or a sentinel's master; on a cluster, one per hash slot, sent at once to each master), under the
   * `timeout` and the circuit breaker. The misses then go through the usual miss path. Rejects like
   * `Promise.all` of the single calls: with the first error of the function.
   *
   * @param argsList - one argument list per call, e.g. `[[1], [2], [3]]`
   * @example
   * ```ts
   * const users = await getUser.many(ids.map((id) => [id]));
   * ```
   */
  many(argsList: readonly A[]): Promise<R[]>;
  /**
   * Deletes the entry for these arguments. A computation that began before this call can no longer
   * store its result. Rejects with a `StoreError` (`E_TIMEOUT`, `E_UNAVAILABLE`, ...) if the store
   * did not confirm the deletion within `timeout`; then the entry may or may not be gone. An open
   * circuit does not hold it back: it always asks the store.
   */
  invalidate(...args: A): Promise<void>;
  /**
   * Invalidates the entry, recomputes it now, stores and returns the fresh value (django's
   * `_refresh=True`). Concurrent calls for the same arguments in this process wait for it.
   * Rejects with the function's error, or with a `StoreError` if the invalidation failed.
   */
  refresh(...args: A): Promise<R>;
  /**
   * Deletes every entry of this function (all arguments), with the same guarantee as `invalidate`.
   * It reads the function's own entry index, one round trip per page of entries (not a `SCAN` of
   * the keyspace); each one must answer within `timeout`.
   */
  invalidateAll(): Promise<void>;
  /** The Redis key for these arguments: `keyPrefix:name:{digest}`. */
  keyFor(...args: A): string;
  /** The unwrapped function. */
  readonly original: (...args: A) => R | PromiseLike<R>;
}

/**
 * Builds the memoized callable for `fn`: the read path as the call, the explicit operations as its
 * methods, all over one {@link Runtime}.
 */
export function createMemoized<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  settings: FunctionSettings,
  context: MemoizerContext,
  ownStore: Store | undefined,
): Memoized<A, R> {
  const rt = new Runtime<A, R>(fn, settings, context, ownStore);
  const memoized = ((...args: A): Promise<R> => readCall(rt, args)) as Memoized<A, R>;
  memoized.many = (argsList: readonly A[]) => many(rt, argsList);
  memoized.invalidate = (...args: A) => invalidate(rt, args);
  memoized.refresh = (...args: A) => refresh(rt, args);
  memoized.invalidateAll = () => invalidateAll(rt);
  memoized.keyFor = (...args: A): string => rt.keyFor(args);
  Object.defineProperty(memoized, 'original', { value: fn, enumerable: true });
  Object.defineProperty(memoized, 'name', { value: settings.name });
  return memoized;
}

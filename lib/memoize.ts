import { performance } from 'node:perf_hooks';
import { type MemoizeError, SerializationError, toStoreError } from './errors';
import { Flights } from './flight';
import { entryKey, functionKeyPrefix } from './key';
import type { CallEvent, ErrorEvent, Hooks, ResolvedOptions } from './options';
import { decode, encode } from './serializer';
import type { Store } from './stores/store';

/**
 * A memoized function: call it like the original (it always returns a promise), plus cache controls.
 *
 * @typeParam A - the original's parameter list
 * @typeParam R - the original's result, awaited
 */
export interface Memoized<A extends unknown[], R> {
  /** The cached result for these arguments, computing and storing it on a miss. */
  (...args: A): Promise<R>;
  /**
   * Deletes the entry for these arguments. A computation that began before this call can no longer
   * store its result. Rejects with a `StoreError` if the store could not be reached.
   */
  invalidate(...args: A): Promise<void>;
  /**
   * Invalidates the entry, recomputes it now, stores and returns the fresh value (django's
   * `_refresh=True`). Concurrent calls for the same arguments in this process wait for it.
   * Rejects with the function's error, or with a `StoreError` if the invalidation failed.
   */
  refresh(...args: A): Promise<R>;
  /** Deletes every entry of this function (all arguments), with the same guarantee as `invalidate`. */
  invalidateAll(): Promise<void>;
  /** The Redis key for these arguments: `keyPrefix:name:{digest}`. */
  keyFor(...args: A): string;
  /** The unwrapped function. */
  readonly original: (...args: A) => R | PromiseLike<R>;
}

/** What a memoized function needs from the memoizer that made it, read at call time. */
export interface MemoizerContext {
  /** The memoizer's store. @throws MemoizeError `E_NOT_CONFIGURED` when there is none. */
  store(): Store;
  /** The memoizer's hooks (they may be configured after the function was made). */
  hooks(): Hooks;
}

function runHook<E>(hook: ((event: E) => void) | undefined, event: E): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch (error) {
    process.emitWarning(`cache-memoize: a hook threw: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Builds the memoized callable for `fn` with resolved options. */
export function createMemoized<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  options: ResolvedOptions,
  context: MemoizerContext,
): Memoized<A, R> {
  const { ttlMs, tokenTtlMs, name, keyArgs, hooks } = options;
  const shouldCache = options.shouldCache as ((result: R, args: A) => boolean) | undefined;
  const functionPrefix = functionKeyPrefix(options.keyPrefix, name);
  const flights = new Flights<R>();
  const storeOf = options.store === undefined ? () => context.store() : () => options.store as Store;

  function keyFor(args: A): string {
    if (keyArgs === undefined) return entryKey(functionPrefix, args);
    const rewritten = (keyArgs as unknown as (...a: A) => unknown)(...args);
    if (!Array.isArray(rewritten)) {
      throw new TypeError(`cache-memoize: keyArgs of ${name} must return an array, got ${typeof rewritten}`);
    }
    return entryKey(functionPrefix, rewritten);
  }

  function event(key: string, args: A, started: number): CallEvent {
    return { key, name, args, durationMs: performance.now() - started };
  }

  function emit(kind: 'onHit' | 'onMiss', key: string, args: A, started: number): void {
    const outer = context.hooks()[kind];
    const inner = hooks[kind];
    if (outer === undefined && inner === undefined) return;
    const e = event(key, args, started);
    runHook(outer, e);
    runHook(inner, e);
  }

  function report(error: MemoizeError, key: string, args: A, started: number): void {
    const e: ErrorEvent = { ...event(key, args, started), error };
    runHook(context.hooks().onError, e);
    runHook(hooks.onError, e);
  }

  async function claim(store: Store, key: string, args: A, started: number): Promise<string | undefined> {
    try {
      return await store.rotate(key, tokenTtlMs);
    } catch (error) {
      report(toStoreError('rotate', error), key, args, started);
      return undefined;
    }
  }

  async function save(store: Store, key: string, args: A, started: number, token: string, result: R): Promise<void> {
    if (shouldCache !== undefined && !shouldCache(result, args)) return;
    let body: string;
    try {
      body = encode(result);
    } catch (error) {
      if (!(error instanceof SerializationError)) throw error;
      report(error, key, args, started);
      return;
    }
    try {
      await store.set(key, token, body, ttlMs, tokenTtlMs);
    } catch (error) {
      report(toStoreError('write', error), key, args, started);
    }
  }

  async function compute(store: Store, key: string, args: A, started: number, token?: string): Promise<R> {
    const result = await fn(...args);
    emit('onMiss', key, args, started);
    if (token !== undefined) await save(store, key, args, started, token, result);
    return result;
  }

  async function lookup(key: string, args: A): Promise<R> {
    const store = storeOf();
    const started = performance.now();
    let stored: string | undefined;
    try {
      stored = await store.get(key);
    } catch (error) {
      report(toStoreError('read', error), key, args, started);
      return compute(store, key, args, started);
    }
    if (stored === undefined) {
      try {
        const found = await store.begin(key, tokenTtlMs);
        if (found.value === undefined) return compute(store, key, args, started, found.token);
        stored = found.value;
      } catch (error) {
        report(toStoreError('begin', error), key, args, started);
        return compute(store, key, args, started);
      }
    }
    const decoded = decode(stored);
    if (decoded.ok) {
      emit('onHit', key, args, started);
      return decoded.value as R;
    }
    // Foreign or damaged bytes: replace them, as the entry has no usable value.
    report(decoded.error, key, args, started);
    return compute(store, key, args, started, await claim(store, key, args, started));
  }

  const memoized = ((...args: A): Promise<R> => {
    let key: string;
    try {
      key = keyFor(args);
    } catch (error) {
      return Promise.reject(error);
    }
    return flights.get(key) ?? flights.track(key, lookup(key, args));
  }) as Memoized<A, R>;

  memoized.invalidate = async (...args: A): Promise<void> => {
    const key = keyFor(args);
    flights.detach(key);
    try {
      await storeOf().delete(key);
    } catch (error) {
      const failure = toStoreError('invalidate', error);
      report(failure, key, args, performance.now());
      throw failure;
    }
  };

  memoized.refresh = async (...args: A): Promise<R> => {
    const key = keyFor(args);
    const store = storeOf();
    const started = performance.now();
    let failure: MemoizeError | undefined;
    const rotated = store.rotate(key, tokenTtlMs).catch((error: unknown) => {
      failure = toStoreError('refresh', error);
      report(failure, key, args, started);
      return undefined;
    });
    // Callers joining this flight get the fresh value even if the invalidation failed.
    const fresh = flights.track(
      key,
      rotated.then((token) => compute(store, key, args, started, token)),
    );
    const result = await fresh;
    if (failure !== undefined) throw failure;
    return result;
  };

  memoized.invalidateAll = async (): Promise<void> => {
    flights.detachAll();
    try {
      await storeOf().deleteMatching(functionPrefix + '{');
    } catch (error) {
      const failure = toStoreError('invalidateAll', error);
      report(failure, functionPrefix, [] as unknown as A, performance.now());
      throw failure;
    }
  };

  memoized.keyFor = (...args: A): string => keyFor(args);
  Object.defineProperty(memoized, 'original', { value: fn, enumerable: true });
  Object.defineProperty(memoized, 'name', { value: name });
  return memoized;
}

import { performance } from 'node:perf_hooks';
import { type MemoizeError, SerializationError, toStoreError } from './errors';
import { type Flight, Flights } from './flight';
import { entryKey, functionKeyPrefix } from './key';
import type { CallEvent, ErrorEvent, Hooks, ResolvedOptions } from './options';
import { decode, encode } from './serializer';
import type { Begin, Store } from './stores/store';

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

/** What hooks and reports need to know about one operation. */
interface CallInfo<A> {
  readonly key: string;
  readonly args: A;
  readonly started: number;
}

/** One call that others can join: it is the flight of its key while its result is pending. */
interface Call<A, R> extends CallInfo<A>, Flight<R> {
  readonly store: Store;
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

  function event(info: CallInfo<A>): CallEvent {
    return { key: info.key, name, args: info.args, durationMs: performance.now() - info.started };
  }

  function emit(kind: 'onHit' | 'onMiss', info: CallInfo<A>): void {
    const outer = context.hooks()[kind];
    const inner = hooks[kind];
    if (outer === undefined && inner === undefined) return;
    const e = event(info);
    runHook(outer, e);
    runHook(inner, e);
  }

  function report(error: MemoizeError, info: CallInfo<A>): void {
    const e: ErrorEvent = { ...event(info), error };
    runHook(context.hooks().onError, e);
    runHook(hooks.onError, e);
  }

  /** Reports a store failure and returns it, for the explicit operations that also reject with it. */
  function storeFailure(operation: string, error: unknown, info: CallInfo<A>): MemoizeError {
    const failure = toStoreError(operation, error);
    report(failure, info);
    return failure;
  }

  function newCall(key: string, args: A, store: Store): Call<A, R> {
    return {
      key,
      args,
      store,
      started: performance.now(),
      promise: undefined as unknown as Promise<R>,
      superseded: false,
    };
  }

  async function save(call: Call<A, R>, token: string, result: R): Promise<void> {
    if (shouldCache !== undefined && !shouldCache(result, call.args)) return;
    let body: string;
    try {
      body = encode(result);
    } catch (error) {
      if (!(error instanceof SerializationError)) throw error;
      report(error, call);
      return;
    }
    let written: boolean;
    try {
      written = await call.store.set(call.key, token, body, ttlMs, tokenTtlMs);
    } catch (error) {
      storeFailure('write', error, call);
      return;
    }
    if (!written) call.superseded = true;
  }

  async function compute(call: Call<A, R>, token: string | undefined): Promise<R> {
    const result = await fn(...call.args);
    emit('onMiss', call);
    if (token !== undefined) await save(call, token, result);
    return result;
  }

  /** A new token for the entry, deleting its value: for damaged bytes and for refresh(). */
  async function rotate(call: Call<A, R>, operation: string): Promise<{ token?: string; failure?: MemoizeError }> {
    try {
      return { token: await call.store.rotate(call.key, tokenTtlMs) };
    } catch (error) {
      return { failure: storeFailure(operation, error, call) };
    }
  }

  /** The miss path: take the entry's token (or a value that landed meanwhile), then compute. */
  async function miss(call: Call<A, R>): Promise<R> {
    let found: Begin;
    try {
      found = await call.store.begin(call.key, tokenTtlMs);
    } catch (error) {
      storeFailure('begin', error, call);
      return compute(call, undefined);
    }
    if (found.value === undefined) return compute(call, found.token);
    const decoded = decode(found.value);
    if (decoded.ok) {
      emit('onHit', call);
      return decoded.value as R;
    }
    return recover(call, decoded.error);
  }

  /** Damaged or foreign bytes: report them, and let the fresh result replace them under a new token. */
  async function recover(call: Call<A, R>, error: MemoizeError): Promise<R> {
    report(error, call);
    return compute(call, (await rotate(call, 'rotate')).token);
  }

  /** Keeps `call` joinable until `work` settles. */
  async function holding(call: Call<A, R>, work: Promise<R>): Promise<R> {
    try {
      return await work;
    } finally {
      flights.detach(call.key, call);
    }
  }

  /** What the hit-path read found: a hit settles here, synchronously; anything else goes on. */
  function afterRead(call: Call<A, R>, stored: string | undefined): R | Promise<R> {
    if (stored !== undefined) {
      const decoded = decode(stored);
      if (decoded.ok) {
        flights.detach(call.key, call);
        emit('onHit', call);
        return decoded.value as R;
      }
      return holding(call, recover(call, decoded.error));
    }
    return holding(call, miss(call));
  }

  function afterReadError(call: Call<A, R>, error: unknown): Promise<R> {
    storeFailure('read', error, call);
    return holding(call, compute(call, undefined));
  }

  // The hit path is one store read and one `then`: no async frames of its own, no per-call closures
  // beyond the two callbacks, so that a hit costs little more than the raw GET.
  function start(key: string, args: A): Promise<R> {
    let store: Store;
    let read: Promise<string | undefined>;
    try {
      store = storeOf();
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      read = store.get(key);
    } catch (error) {
      // A store that throws instead of rejecting is still just a failed read.
      read = Promise.reject(error);
    }
    const call = newCall(key, args, store);
    call.promise = read.then(
      (stored) => afterRead(call, stored),
      (error: unknown) => afterReadError(call, error),
    );
    flights.add(key, call);
    return call.promise;
  }

  /**
   * A joiner may have started after an invalidation elsewhere that the flight's computation predates;
   * the refused write says so, and the joiner then runs once more instead of taking that result.
   */
  async function join(key: string, args: A, flight: Flight<R>): Promise<R> {
    const result = await flight.promise;
    if (!flight.superseded) return result;
    return flights.get(key)?.promise ?? start(key, args);
  }

  const memoized = ((...args: A): Promise<R> => {
    let key: string;
    try {
      key = keyFor(args);
    } catch (error) {
      return Promise.reject(error);
    }
    const flight = flights.get(key);
    return flight === undefined ? start(key, args) : join(key, args, flight);
  }) as Memoized<A, R>;

  memoized.invalidate = async (...args: A): Promise<void> => {
    const key = keyFor(args);
    const info = { key, args, started: performance.now() };
    flights.detach(key);
    try {
      await storeOf().delete(key);
    } catch (error) {
      throw storeFailure('invalidate', error, info);
    }
  };

  memoized.refresh = async (...args: A): Promise<R> => {
    const key = keyFor(args);
    const call = newCall(key, args, storeOf());
    let failure: MemoizeError | undefined;
    // Callers joining this flight get the fresh value even if the invalidation failed.
    const work = (async () => {
      const rotated = await rotate(call, 'refresh');
      failure = rotated.failure;
      return compute(call, rotated.token);
    })();
    call.promise = holding(call, work);
    flights.add(key, call);
    const result = await call.promise;
    if (failure !== undefined) throw failure;
    return result;
  };

  memoized.invalidateAll = async (): Promise<void> => {
    const info = { key: functionPrefix, args: [] as unknown as A, started: performance.now() };
    flights.detachAll();
    try {
      await storeOf().deleteMatching(functionPrefix + '{');
    } catch (error) {
      throw storeFailure('invalidateAll', error, info);
    }
  };

  memoized.keyFor = (...args: A): string => keyFor(args);
  Object.defineProperty(memoized, 'original', { value: fn, enumerable: true });
  Object.defineProperty(memoized, 'name', { value: name });
  return memoized;
}

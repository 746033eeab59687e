import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { entryKeys } from './canonical-args';
import type { Timed } from './deadline';
import { shouldRefreshEarly } from './early-refresh';
import { isWrongType, MemoizeError, SerializationError, type StoreError, toStoreError } from './errors';
import { type Flight, Flights } from './flight';
import { StoreGuard } from './guard';
import { entriesPrefix, functionKeyPrefix } from './key';
import { LocalTier, MISSING } from './local-tier';
import { ComputeTimes, MIN_LOCK_TTL_MS, pollMs } from './lock';
import {
  applySettings,
  type CallEvent,
  type ErrorEvent,
  type Hooks,
  type ResolvedOptions,
  type StoreSettings,
} from './options';
import { runHook, warnUnheard } from './report';
import { decode, encode, stamp } from './serializer';
import type { Begin, LockRequest, Store } from './stores/store';

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
   * It takes several round trips (`SCAN`); each one must answer within `timeout`.
   */
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
  /** The memoizer's store settings; a new object whenever they change. */
  storeSettings(): StoreSettings;
}

/** What hooks and reports need to know about one operation. */
interface CallInfo<A> {
  readonly key: string;
  readonly args: A;
  readonly started: number;
}

/**
 * One call that others can join: it is the flight of its key while its result is pending. On the hit
 * path it is also the deadline of its read.
 */
interface Call<A, R> extends CallInfo<A>, Flight<R>, Timed {
  readonly guard: StoreGuard;
  /** `invalidate`/`refresh`: not held back by an open circuit. */
  readonly explicit: boolean;
  /** The local tier's ticket for this call's store read; negative: its answer is not kept locally. */
  ticket: number;
  expiresAt: number;
  resolve: (value: R | PromiseLike<R>) => void;
  reject: (error: unknown) => void;
}

// Lets `new Promise` hand out its resolvers without a closure per call.
let capturedResolve: (value: never) => void = () => {};
let capturedReject: (error: unknown) => void = () => {};
function capture(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function noop(): void {}

/** Builds the memoized callable for `fn` with resolved options. */
export function createMemoized<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  options: ResolvedOptions,
  context: MemoizerContext,
): Memoized<A, R> {
  const { ttlMs, tokenTtlMs, name, keyArgs, hooks, earlyRefresh } = options;
  // Entries carry their freshness only when something reads it: stale-while-revalidate, early refresh,
  // or a local tier (whose copies must not outlive the entry). An entry that never expires has none.
  const refreshes = options.staleTtlMs > 0 || earlyRefresh !== undefined;
  const timed = (refreshes || options.local !== undefined) && Number.isFinite(ttlMs);
  const storeTtlMs = ttlMs + options.staleTtlMs;
  const computeTimes = new ComputeTimes();
  const refreshing = new Set<string>();
  const shouldCache = options.shouldCache as ((result: R, args: A) => boolean) | undefined;
  const functionPrefix = functionKeyPrefix(options.keyPrefix, name);
  const entryKey = entryKeys(functionPrefix);
  const flights = new Flights<R>();
  const tier = options.local === undefined ? undefined : new LocalTier(functionPrefix, options.local, noTracking);
  const storeOf = options.store === undefined ? () => context.store() : () => options.store as Store;
  const ownSettings = options.storeSettings;
  let baseSettings: StoreSettings | undefined;
  let settings: StoreSettings | undefined;
  let guard: StoreGuard | undefined;

  function settingsOf(): StoreSettings {
    const base = context.storeSettings();
    if (ownSettings === undefined) return base;
    if (base !== baseSettings || settings === undefined) {
      baseSettings = base;
      settings = applySettings(base, ownSettings);
    }
    return settings;
  }

  /** The store behind its deadline and breaker; rebuilt only when the store or the settings change. */
  function guardOf(): StoreGuard {
    const store = storeOf();
    const current = settingsOf();
    if (guard === undefined || guard.store !== store || guard.settings !== current) {
      guard = new StoreGuard(store, current);
      tier?.attach(store);
    }
    return guard;
  }

  /** The local tier cannot be used: its store reports no changes, or `failure` says why they stopped. */
  function noTracking(failure: Error | undefined): void {
    const error =
      failure instanceof MemoizeError
        ? failure
        : new MemoizeError(
            'E_NO_TRACKING',
            `cache-memoize: the local tier of ${name} is not used: its store does not report changes (a Redis ` +
              'Cluster client, or a custom store without tracking()); every call reads the store',
            { cause: failure },
          );
    report(error, { key: functionPrefix, args: [] as unknown as A, started: performance.now() });
  }

  function keyFor(args: A): string {
    if (keyArgs === undefined) return entryKey(args);
    const rewritten = (keyArgs as unknown as (...a: A) => unknown)(...args);
    if (!Array.isArray(rewritten)) {
      throw new TypeError(`cache-memoize: keyArgs of ${name} must return an array, got ${typeof rewritten}`);
    }
    return entryKey(rewritten);
  }

  function event(info: CallInfo<A>): CallEvent {
    return { key: info.key, name, args: info.args, durationMs: performance.now() - info.started };
  }

  function emit(kind: 'onHit' | 'onMiss', info: CallInfo<A>, stale = false): void {
    const outer = context.hooks()[kind];
    const inner = hooks[kind];
    if (outer === undefined && inner === undefined) return;
    const e = event(info);
    if (stale) e.stale = true;
    runHook(outer, e);
    runHook(inner, e);
  }

  /** A local-tier hit: no store, no flight; the hooks still hear it. */
  function localHit(key: string, args: A, value: R, started: number): Promise<R> {
    const outer = context.hooks().onHit;
    const inner = hooks.onHit;
    if (outer !== undefined || inner !== undefined) {
      const e = event({ key, args, started });
      e.local = true;
      runHook(outer, e);
      runHook(inner, e);
    }
    return Promise.resolve(value);
  }

  function report(error: MemoizeError, info: CallInfo<A>): void {
    const outer = context.hooks().onError;
    const inner = hooks.onError;
    if (outer === undefined && inner === undefined) {
      warnUnheard(error);
      return;
    }
    const e: ErrorEvent = { ...event(info), error };
    runHook(outer, e);
    runHook(inner, e);
  }

  /** Reports a store failure and returns it, for the explicit operations that also reject with it. */
  function storeFailure(operation: string, error: unknown, info: CallInfo<A>): StoreError {
    const failure = toStoreError(operation, error);
    report(failure, info);
    return failure;
  }

  function newCall(key: string, args: A, withGuard: StoreGuard, explicit: boolean): Call<A, R> {
    return {
      key,
      args,
      guard: withGuard,
      explicit,
      ticket: -1,
      started: performance.now(),
      promise: undefined as unknown as Promise<R>,
      superseded: false,
      expiresAt: 0,
      settled: false,
      expire: expireRead,
      resolve: noop,
      reject: noop,
    };
  }

  /** The encoded result, or `undefined` (reported) when it must not be stored. */
  function encodeForStore(call: Call<A, R>, result: R): string | undefined {
    let body: string;
    try {
      body = encode(result);
    } catch (error) {
      if (!(error instanceof SerializationError)) throw error;
      report(error, call);
      return undefined;
    }
    const max = (call.guard.settings as StoreSettings).maxValueBytes;
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count exactly only when the length cannot decide.
    if (body.length * 3 <= max) return body;
    const bytes = body.length > max ? body.length : Buffer.byteLength(body);
    if (bytes <= max) return body;
    report(
      new SerializationError(
        'E_TOO_LARGE',
        `cache-memoize: the result of ${name} is ${bytes > body.length ? bytes : `at least ${bytes}`} bytes encoded, ` +
          `over maxValueBytes (${max}); it was returned, not stored`,
      ),
      call,
    );
    return undefined;
  }

  /** The lock a miss asks for, or `undefined` when locking is off. */
  function lockRequest(): LockRequest | undefined {
    if (!options.lock) return undefined;
    return { token: randomUUID(), ttlMs: options.lockTtlMs ?? computeTimes.lockTtlMs(MIN_LOCK_TTL_MS) };
  }

  /** Lets a lock go (and wakes its waiters) without making the caller wait for it. */
  function releaseSoon(call: Call<A, R>, lockToken: string): void {
    call.guard
      .run('release', (s) => s.release?.(call.key, lockToken) ?? Promise.resolve(), true)
      .catch((error: unknown) => storeFailure('release', error, call));
  }

  /**
   * A lock request whose answer was lost (timeout, dropped connection) may still have taken the lock
   * when the store wakes up; nobody would compute under it, so release it (token-checked, harmless).
   */
  function abandon(call: Call<A, R>, lock: LockRequest | undefined): void {
    if (lock !== undefined) releaseSoon(call, lock.token);
  }

  async function save(
    call: Call<A, R>,
    token: string,
    result: R,
    computeMs: number,
    lockToken?: string,
  ): Promise<void> {
    let body = shouldCache === undefined || shouldCache(result, call.args) ? encodeForStore(call, result) : undefined;
    if (body === undefined) {
      if (lockToken !== undefined) releaseSoon(call, lockToken);
      return;
    }
    if (timed) body = stamp(body, { freshUntil: Date.now() + ttlMs, computeMs });
    const stored = body;
    let written: boolean;
    try {
      written = await call.guard.run(
        'write',
        (s) => s.set(call.key, token, stored, storeTtlMs, tokenTtlMs, lockToken),
        call.explicit,
      );
    } catch (error) {
      storeFailure('write', error, call);
      if (lockToken !== undefined) releaseSoon(call, lockToken);
      return;
    }
    if (!written) call.superseded = true;
  }

  /** Runs the function; with a token, stores the result (and releases the lock, if held). */
  async function compute(call: Call<A, R>, token: string | undefined, lockToken?: string): Promise<R> {
    const started = performance.now();
    let result: R;
    try {
      result = await fn(...call.args);
    } catch (error) {
      if (lockToken !== undefined) releaseSoon(call, lockToken);
      throw error;
    }
    const computeMs = performance.now() - started;
    computeTimes.observe(computeMs);
    emit('onMiss', call);
    if (token !== undefined) await save(call, token, result, computeMs, lockToken);
    return result;
  }

  /** A new token for the entry, deleting its value: for damaged bytes and for refresh(). */
  async function rotate(
    call: Call<A, R>,
    operation: string,
    lock?: LockRequest,
  ): Promise<{ token?: string; failure?: StoreError }> {
    try {
      return { token: await call.guard.run(operation, (s) => s.rotate(call.key, tokenTtlMs, lock), call.explicit) };
    } catch (error) {
      return { failure: storeFailure(operation, error, call) };
    }
  }

  /** A value read from the store: a hit (stale ones trigger a background refresh), or damaged bytes. */
  function found(call: Call<A, R>, stored: string): R | Promise<R> {
    const decoded = decode(stored);
    if (!decoded.ok) return recover(call, decoded.error);
    let stale = false;
    // Without stale-while-revalidate or early refresh, freshness only caps the local tier's copy.
    if (decoded.freshUntil !== undefined && refreshes) {
      const now = Date.now();
      stale = now >= decoded.freshUntil;
      if (
        stale ||
        (earlyRefresh !== undefined &&
          shouldRefreshEarly(now, decoded.freshUntil, decoded.computeMs ?? 0, earlyRefresh.beta, earlyRefresh.random))
      ) {
        refreshInBackground(call.key, call.args, call.guard);
      }
    }
    if (!stale && call.ticket >= 0)
      (tier as LocalTier).keep(call.key, call.ticket, decoded.value, stored, decoded.freshUntil, decoded.computeMs);
    emit('onHit', call, stale);
    return decoded.value as R;
  }

  /** The miss path: take the entry's token and lock (or a value that landed meanwhile), then compute. */
  async function miss(call: Call<A, R>): Promise<R> {
    const lock = lockRequest();
    const askedAt = performance.now();
    let begun: Begin;
    try {
      begun = await call.guard.run('begin', (s) => s.begin(call.key, tokenTtlMs, lock && { lock }));
    } catch (error) {
      storeFailure('begin', error, call);
      abandon(call, lock);
      return compute(call, undefined);
    }
    if (begun.value !== undefined) return found(call, begun.value);
    if (lock === undefined || begun.locked !== false) return compute(call, begun.token, lock?.token);
    return awaitHolder(call, lock, begun.holder, askedAt);
  }

  /**
   * Another process holds the entry's lock: wait for its result instead of computing too. Woken when
   * the release is announced (or every poll), it checks again: a value is a hit; a free lock is taken
   * and this call computes (the holder crashed or gave up). Patience runs per holder, so it is only
   * lost to one that kept the lock for `lockWait`; then this call computes without the lock.
   */
  async function awaitHolder(
    call: Call<A, R>,
    lock: LockRequest,
    firstHolder: string | undefined,
    firstAskedAt: number,
  ): Promise<R> {
    const waitMs = options.lockWaitMs ?? lock.ttlMs;
    const poll = pollMs(lock.ttlMs);
    let holder = firstHolder;
    let patienceEnds = performance.now() + waitMs;
    let askedAt = firstAskedAt;
    for (;;) {
      const remaining = patienceEnds - performance.now();
      if (remaining > 0) {
        const ms = Math.min(poll, remaining);
        const store = call.guard.store;
        await (store.waitFor === undefined ? sleep(ms) : store.waitFor(call.key, ms, askedAt).promise);
      }
      askedAt = performance.now();
      let begun: Begin;
      try {
        begun = await call.guard.run('begin', (s) => s.begin(call.key, tokenTtlMs, { lock }));
      } catch (error) {
        storeFailure('begin', error, call);
        abandon(call, lock);
        return compute(call, undefined);
      }
      if (begun.value !== undefined) return found(call, begun.value);
      if (begun.locked !== false) return compute(call, begun.token, lock.token);
      if (begun.holder !== holder) {
        holder = begun.holder;
        patienceEnds = performance.now() + waitMs;
      } else if (performance.now() >= patienceEnds) {
        return compute(call, begun.token);
      }
    }
  }

  /**
   * Refreshes a stale or nearly expired entry after its caller got the value: once per key in this
   * process, and once in the cluster when locking is on (a caller that finds the lock taken leaves
   * it to the holder). A failure is reported; the stale value keeps being served until it expires.
   */
  function refreshInBackground(key: string, args: A, withGuard: StoreGuard): void {
    if (refreshing.has(key)) return;
    refreshing.add(key);
    const background = newCall(key, args, withGuard, false);
    backgroundRefresh(background)
      .catch((error: unknown) =>
        report(
          new MemoizeError('E_REFRESH_FAILED', 'cache-memoize: background refresh failed', { cause: error }),
          background,
        ),
      )
      .finally(() => refreshing.delete(key));
  }

  async function backgroundRefresh(call: Call<A, R>): Promise<void> {
    const lock = lockRequest();
    let begun: Begin;
    try {
      begun = await call.guard.run('begin', (s) => s.begin(call.key, tokenTtlMs, { lock, ignoreValue: true }));
    } catch (error) {
      storeFailure('begin', error, call);
      abandon(call, lock);
      return;
    }
    if (begun.value !== undefined || begun.locked === false) return;
    await compute(call, begun.token, lock?.token);
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
  function afterRead(call: Call<A, R>, stored: string | null | undefined): R | Promise<R> {
    if (stored === undefined || stored === null) return holding(call, miss(call));
    const result = found(call, stored);
    if (result instanceof Promise) return holding(call, result);
    flights.detach(call.key, call);
    return result;
  }

  /** The read failed, timed out or was skipped: run the function without the store. */
  function withoutStore(call: Call<A, R>, failure: StoreError): Promise<R> {
    report(failure, call);
    return holding(call, compute(call, undefined));
  }

  // Shared by every call as a method, not a closure per call: a closure here measurably made calls
  // survive young-generation GC (old-space collections went from 1 to 11 in 2.5 s of hits).
  function expireRead(this: Call<A, R>): void {
    this.resolve(withoutStore(this, this.guard.timedOut('read')));
  }

  function onRead(call: Call<A, R>, stored: string | null | undefined): void {
    if (call.settled) return;
    call.settled = true;
    call.guard.answered();
    try {
      call.resolve(afterRead(call, stored));
    } catch (error) {
      call.reject(error);
    }
  }

  function onReadError(call: Call<A, R>, error: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (isWrongType(error)) {
      // Another program left a hash, list... at the key: garbage like any other, so replace it.
      call.guard.answered();
      const damaged = new SerializationError('E_DECODE', 'cache-memoize: the key holds another Redis type', {
        cause: error,
      });
      call.resolve(holding(call, recover(call, damaged)));
      return;
    }
    call.resolve(withoutStore(call, call.guard.failed('read', error)));
  }

  // The hit path is one store read under a deadline that costs an array push (no timer per call), and
  // no async frames of its own, so that a hit costs little more than the raw GET.
  function start(key: string, args: A): Promise<R> {
    let current: StoreGuard;
    try {
      current = guardOf();
    } catch (error) {
      return Promise.reject(error);
    }
    const call = newCall(key, args, current, false);
    if (tier !== undefined) call.ticket = tier.ticket();
    const refusal = current.refusal('read', call.started, false);
    if (refusal !== undefined) {
      call.promise = withoutStore(call, refusal);
      flights.add(key, call);
      return call.promise;
    }
    let read: Promise<string | null | undefined>;
    try {
      read = current.store.get(key);
    } catch (error) {
      // A store that throws instead of rejecting is still just a failed read.
      read = Promise.reject(error);
    }
    call.promise = new Promise<R>(capture);
    call.resolve = capturedResolve as (value: R | PromiseLike<R>) => void;
    call.reject = capturedReject;
    call.expiresAt = current.expiresAt(call.started);
    read.then(
      (stored) => onRead(call, stored),
      (error: unknown) => onReadError(call, error),
    );
    current.watch(call);
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
    const started = tier === undefined ? 0 : performance.now();
    let key: string;
    try {
      key = keyFor(args);
      // guardOf() notices a newly configured store, which empties the tier.
      if (tier !== undefined && tier.size > 0) {
        const current = guardOf();
        const value = tier.get(key);
        if (value !== MISSING) {
          // Local hits roll the early-refresh dice too, or a value read once would expire everywhere at once.
          if (earlyRefresh !== undefined && tier.refreshDue(key, earlyRefresh.beta, earlyRefresh.random)) {
            refreshInBackground(key, args, current);
          }
          return localHit(key, args, value as R, started);
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const flight = flights.get(key);
    return flight === undefined ? start(key, args) : join(key, args, flight);
  }) as Memoized<A, R>;

  memoized.invalidate = async (...args: A): Promise<void> => {
    const key = keyFor(args);
    const info = { key, args, started: performance.now() };
    const current = guardOf();
    flights.detach(key);
    // Here at once, and again once the store answered: a read in flight meanwhile is not kept either.
    tier?.forget(key);
    try {
      await current.run('invalidate', (s) => s.delete(key), true);
    } catch (error) {
      throw storeFailure('invalidate', error, info);
    } finally {
      tier?.forget(key);
    }
  };

  memoized.refresh = async (...args: A): Promise<R> => {
    const key = keyFor(args);
    const call = newCall(key, args, guardOf(), true);
    let failure: StoreError | undefined;
    // Callers joining this flight get the fresh value even if the invalidation failed.
    // Like a miss, it holds the entry's lock, so other processes wait for this result.
    const lock = lockRequest();
    tier?.forget(key);
    const work = (async () => {
      try {
        const rotated = await rotate(call, 'refresh', lock);
        failure = rotated.failure;
        if (failure !== undefined) abandon(call, lock);
        return await compute(call, rotated.token, rotated.token === undefined ? undefined : lock?.token);
      } finally {
        tier?.forget(key);
      }
    })();
    call.promise = holding(call, work);
    flights.add(key, call);
    const result = await call.promise;
    if (failure !== undefined) throw failure;
    return result;
  };

  memoized.invalidateAll = async (): Promise<void> => {
    const info = { key: functionPrefix, args: [] as unknown as A, started: performance.now() };
    const current = guardOf();
    flights.detachAll();
    tier?.clear();
    try {
      const refusal = current.refusal('invalidateAll', info.started, true);
      if (refusal !== undefined) throw refusal;
      await current.store.deleteMatching(entriesPrefix(functionPrefix), current.bound('invalidateAll'));
    } catch (error) {
      throw storeFailure('invalidateAll', error, info);
    } finally {
      tier?.clear();
    }
  };

  memoized.keyFor = (...args: A): string => keyFor(args);
  Object.defineProperty(memoized, 'original', { value: fn, enumerable: true });
  Object.defineProperty(memoized, 'name', { value: name });
  return memoized;
}

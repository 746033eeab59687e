import { performance } from 'node:perf_hooks';
import { entryKeys } from '../canonical-args';
import { asStoreError, MemoizeError } from '../errors';
import { StoreGuard } from '../guard';
import { tagKey } from '../key';
import type { Hooks } from '../options';
import { applyStoreSettings, type FunctionSettings, type StoreSettings } from '../settings';
import type { Store } from '../stores/store';
import type { CallContext, CallOutcome } from '../tracing';
import { ComputeTimes } from './compute-times';
import { type CallInfo, Events } from './events';
import { type Flight, Flights } from './flight';
import { LocalTier } from './local-tier';
import { MissRatio } from './miss-ratio';

/** What a memoized function needs from the memoizer that made it, read at call time. */
export interface MemoizerContext {
  /** The memoizer's store. @throws MemoizeError `E_NOT_CONFIGURED` when there is none. */
  store(): Store;
  /** The memoizer's hooks (they may be configured after the function was made). */
  hooks(): Hooks;
  /** The memoizer's store settings; a new object whenever they change. */
  storeSettings(): StoreSettings;
  /** Told of a tagged function's local tier, which the memoizer's `invalidateTags` then evicts from. */
  taggedTier?(tier: LocalTier): void;
}

/**
 * One call of a memoized function (or one background refresh, or one explicit operation): what it
 * is about, and the flight that later callers of its key join while it is pending.
 */
export class Call<R> implements CallInfo, Flight<R> {
  readonly started = performance.now();
  promise: Promise<R> = undefined as unknown as Promise<R>;
  superseded = false;
  /** The local tier's ticket for this call's store read; negative: its answer is not kept locally. */
  ticket = -1;
  /** How it got its result, once known (set by the events module). */
  outcome: CallOutcome | undefined = undefined;
  /** The trace of the call this one answers, while someone subscribes to the call channel. */
  trace: CallContext | undefined = undefined;
  /** A tagged function's: the tag epoch read with the last begin, before computing. */
  tagEpoch: string | undefined = undefined;
  /**
   * Set when the result was handed out before its write was acknowledged: settles (never rejects)
   * once the store answered the write or it failed. Joiners wait for it before `superseded`.
   */
  written: Promise<void> | undefined = undefined;
  /** When this call last sent its entry's enrollment (`performance.now()`), for a cluster's index. */
  enrolledAt: number | undefined = undefined;

  constructor(
    readonly guard: StoreGuard,
    readonly key: string,
    readonly args: readonly unknown[],
    /** `invalidate`/`refresh`: not held back by an open circuit. */
    readonly explicit: boolean,
  ) {}
}

/**
 * The state one memoized function's protocols share: its settings, the function, its flights, its
 * local tier, its hooks, and its store behind the guard. Each protocol module takes it as its first
 * argument; `memoize.ts` makes one per memoized function.
 */
export class Runtime<A extends unknown[], R> {
  readonly flights = new Flights<R>();
  readonly computeTimes = new ComputeTimes();
  /** Keys whose background refresh runs in this process. */
  readonly refreshing = new Set<string>();
  /** How the function's recent store reads went: whether a read begins the entry too. */
  readonly misses = new MissRatio();
  readonly events: Events;
  readonly tier: LocalTier | undefined;
  readonly #entryKey: (args: readonly unknown[]) => string;
  readonly #store: () => Store;
  #guard: StoreGuard | undefined;
  #baseSettings: StoreSettings | undefined;
  #settings: StoreSettings | undefined;

  constructor(
    readonly fn: (...args: A) => R | PromiseLike<R>,
    readonly settings: FunctionSettings,
    readonly context: MemoizerContext,
    /** The function's own store, if it named one; otherwise the memoizer's, at call time. */
    ownStore: Store | undefined,
  ) {
    this.events = new Events(settings.name, settings.hooks, () => context.hooks());
    this.#entryKey = entryKeys(settings.functionPrefix);
    this.#store = ownStore === undefined ? () => context.store() : () => ownStore;
    this.tier =
      settings.local === undefined
        ? undefined
        : new LocalTier(
            settings.functionPrefix,
            settings.local,
            (failure) => this.#noTracking(failure),
            settings.tags !== undefined,
            Array.isArray(settings.tags) ? settings.tags.map(tagKey) : undefined,
          );
    if (this.tier !== undefined && settings.tags !== undefined) context.taggedTier?.(this.tier);
  }

  /** The entry key for `args`, through `keyArgs` when given. */
  keyFor(args: A): string {
    const { keyArgs } = this.settings;
    return keyArgs === undefined ? this.#entryKey(args) : this.#rewrittenKey(keyArgs, args);
  }

  /** The entry key of what `keyArgs` makes of `args`. */
  #rewrittenKey(keyArgs: NonNullable<FunctionSettings['keyArgs']>, args: A): string {
    const rewritten = (keyArgs as unknown as (...a: A) => unknown)(...args);
    if (!Array.isArray(rewritten)) {
      throw new TypeError(
        `cache-memoize: keyArgs of ${this.settings.name} must return an array, got ${typeof rewritten}`,
      );
    }
    return this.#entryKey(rewritten);
  }

  /**
   * The store behind its deadline and breaker; made anew only when the store or the settings change
   * (a new store also empties the local tier).
   */
  guard(): StoreGuard {
    const store = this.#store();
    const settings = this.#storeSettings();
    const guard = this.#guard;
    if (guard !== undefined && guard.store === store && guard.settings === settings) return guard;
    return this.#newGuard(store, settings);
  }

  #newGuard(store: Store, settings: StoreSettings): StoreGuard {
    const guard = new StoreGuard(store, settings);
    this.#guard = guard;
    this.tier?.attach(store);
    return guard;
  }

  /** Reports a failure the call went on from; it returns it, for operations that also reject with it. */
  report(error: unknown, info: CallInfo, operation = 'store'): MemoizeError {
    const failure = error instanceof MemoizeError ? error : asStoreError(operation, error);
    this.events.error(failure, info);
    return failure;
  }

  /** Keeps `call` joinable until `work` settles. */
  async holding(call: Call<R>, work: Promise<R>): Promise<R> {
    try {
      return await work;
    } finally {
      this.flights.detach(call.key, call);
    }
  }

  #storeSettings(): StoreSettings {
    const base = this.context.storeSettings();
    const own = this.settings.storeSettings;
    return own === undefined ? base : this.#withOwn(base, own);
  }

  /** The memoizer's store settings with the function's own over them, made anew when the memoizer's change. */
  #withOwn(base: StoreSettings, own: NonNullable<FunctionSettings['storeSettings']>): StoreSettings {
    if (base !== this.#baseSettings || this.#settings === undefined) {
      this.#baseSettings = base;
      this.#settings = applyStoreSettings(base, own);
    }
    return this.#settings;
  }

  /** The local tier cannot be used: its store reports no changes, or `failure` says why they stopped. */
  #noTracking(failure: Error | undefined): void {
    const { name, functionPrefix } = this.settings;
    const error =
      failure instanceof MemoizeError
        ? failure
        : new MemoizeError(
            'E_NO_TRACKING',
            `cache-memoize: the local tier of ${name} is not used: its store does not report changes (a Redis ` +
              'Cluster or Sentinel client, or a custom store without tracking()); every call reads the store',
            { cause: failure },
          );
    this.events.error(error, { key: functionPrefix, args: [], started: performance.now() });
  }
}

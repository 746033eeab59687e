import { decoratorOf, type MemoizedDecorator, type MemoizedOptions } from './decorator';
import type { LocalTier } from './engine/local-tier';
import { invalidateTags as invalidateTagsOf } from './engine/tag-invalidation';
import { supportsTags } from './engine/tagging';
import { MemoizeError } from './errors';
import { createMemoized, type Memoized } from './memoize';
import type { DurationString, Hooks, MemoizeOptions, MemoizerOptions, Ttl } from './options';
import { parseFunctionOptions, parseMemoizerOptions } from './parse-options';
import { whenReady } from './readiness';
import { NameRegistry } from './registry';
import {
  applyCreation,
  applyStoreSettings,
  type CreationSettings,
  DEFAULT_KEY_PREFIX,
  DEFAULT_STORE_SETTINGS,
  type StoreChoice,
} from './settings';
import type { RedisLike } from './stores/redis/drivers';
import { RedisStore } from './stores/redis/store';
import type { Store } from './stores/store';

/**
 * A `memoize` bound to one store and one set of defaults. Made by {@link createMemoizer};
 * the package's own {@link memoize} is the process-wide one that {@link configure} sets up.
 */
export interface Memoize {
  /**
   * Wraps `fn` so its results are cached in the store.
   *
   * @param fn - a named function (or give `options.name`); sync or async
   * @param options - options, or a ttl shorthand: `memoize(fn, 3600)`, `memoize(fn, '1h')`
   * @throws TypeError for invalid options, a missing name, or a function with other source text
   * already registered under the same `keyPrefix:name` (and `version`) in this memoizer
   *
   * @example
   * ```ts
   * const getRelatedPosts = memoize(async function getRelatedPosts(id: number) {
   *   return db.related(id);
   * }, { ttl: '1h', keyPrefix: 'blog' });
   * ```
   */
  // When a call does not type-check, TypeScript infers again for its error message without the
  // arguments that take their types from context, such as a `function` expression; A then falls back
  // to its constraint. With `unknown[]` the function itself would fail to match, and the mistake would be
  // reported against it; with `any[]` it matches, and the mistake is reported at the option.
  // biome-ignore lint/suspicious/noExplicitAny: the constraint is only what error messages fall back to; A is inferred from fn
  <A extends any[], R>(fn: (...args: A) => R, options?: MemoizeOptions<A, Awaited<R>> | Ttl): Memoized<A, Awaited<R>>;
  /**
   * A standard (TC39) decorator that memoizes an async method with this memoizer; see {@link memoized}.
   * @throws TypeError on an instance method without `instanceKey`
   */
  memoized<This, A extends unknown[], R extends Promise<unknown>>(
    options?: MemoizedOptions<This, A, Awaited<R>>,
  ): MemoizedDecorator<This, A, R>;
  /**
   * Changes this memoizer's defaults; given fields replace earlier ones, the others stay.
   *
   * Read at every call, so they change functions already made too:
   * - the store (`client` or `store`), except for a function given its own;
   * - the hooks (`onHit`, `onMiss`, `onError`), which run alongside a function's own hooks;
   * - `timeout`, `circuitBreaker` and `maxValueBytes`, except the fields a function set itself
   *   (a function's `circuitBreaker` fields it left out still come from here).
   *
   * Read once, when `memoize()` is called, so they apply only to functions made afterwards: `ttl`,
   * `keyPrefix`, `lock`, `lockTtl`, `lockWait`, `awaitWrite`, `staleTtl`, `earlyRefresh`, `local` and `clone`.
   */
  configure(options: MemoizerOptions): void;
  /**
   * Resolves `true` once this memoizer's store answers a read, or `false` when `timeout` passes
   * (milliseconds or a {@link DurationString}; `Infinity` waits for ever). It never rejects for a
   * store that is down, slow or not configured yet. Until the store answers, calls run uncached
   * and `invalidate`, `refresh` and `invalidateAll` reject.
   * @default timeout 5000
   * @throws TypeError for a timeout that is not a positive duration
   * @example `if (!(await sessions.ready('2s'))) log.warn('starting without the cache');`
   */
  ready(timeout?: number | DurationString): Promise<boolean>;

  /**
   * Invalidates every entry that carries any of `tags`, of every function (of any memoizer) over
   * this memoizer's store, in every process: once it resolves, no value whose computation began
   * before the call is returned, from the store or from a local tier. Costs two round trips on a
   * Redis Cluster (one on a single server), whatever the number of entries.
   *
   * @param tags - the tags, as the `tags` option gives them
   * @throws TypeError for an argument that is not a list of valid tags (see the `tags` option)
   * @returns rejects with a `StoreError` if the store did not confirm (then the tags may or may not
   * be invalidated), or a `MemoizeError` `E_NO_TAGS` for a store without tags
   *
   * @example
   * ```ts
   * await memoizer.invalidateTags(['kw:redis', 'kw:node']);
   * ```
   */
  invalidateTags(tags: readonly string[]): Promise<void>;
}

/**
 * Creates a memoizer with its own store, defaults and name registry (django's `cache_alias`).
 *
 * @example
 * ```ts
 * const sessions = createMemoizer({ client: sessionRedis, keyPrefix: 'sess', ttl: '5m' });
 * const loadUser = sessions(async function loadUser(id: string) { ... });
 * ```
 */
export function createMemoizer(defaults: MemoizerOptions = {}): Memoize {
  let store: Store | undefined;
  let creation: CreationSettings = {};
  let hooks: Hooks = {};
  let storeSettings = DEFAULT_STORE_SETTINGS;
  const registry = new NameRegistry();
  // One store per client, shared by every function of this memoizer that names that client.
  const storesByClient = new WeakMap<RedisLike, RedisStore>();
  // Stores told that some function takes locks, so they set up what waiters need outside any call.
  let locking = false;

  const context = {
    store(): Store {
      if (store !== undefined) return store;
      throw new MemoizeError(
        'E_NOT_CONFIGURED',
        'cache-memoize: no store; call configure({ client }) or configure({ store }) first, or pass one to memoize()',
      );
    },
    hooks: () => hooks,
    storeSettings: () => storeSettings,
    taggedTier(tier: LocalTier): void {
      taggedTiers.add(new WeakRef(tier));
    },
  };

  // Tagged functions' local tiers, so invalidateTags evicts in this process before it resolves.
  const taggedTiers = new Set<WeakRef<LocalTier>>();
  function* liveTaggedTiers(): Generator<LocalTier> {
    for (const ref of taggedTiers) {
      const tier = ref.deref();
      if (tier === undefined) taggedTiers.delete(ref);
      else yield tier;
    }
  }

  function storeOf(choice: StoreChoice): Store | undefined {
    if (choice === undefined) return undefined;
    if ('store' in choice) return choice.store;
    let made = storesByClient.get(choice.client);
    if (made === undefined) {
      made = new RedisStore(choice.client);
      storesByClient.set(choice.client, made);
    }
    return made;
  }

  function prepare(target: Store | undefined): void {
    if (locking) target?.prepare?.({ locks: true });
  }

  function configure(options: MemoizerOptions): void {
    const patch = parseMemoizerOptions(options, 'configure()');
    const named = storeOf(patch.storeChoice);
    if (named !== undefined) {
      store = named;
      prepare(store);
    }
    creation = applyCreation(creation, patch.creation);
    if (Object.keys(patch.storeSettings).length > 0)
      storeSettings = applyStoreSettings(storeSettings, patch.storeSettings);
    const { onHit = hooks.onHit, onMiss = hooks.onMiss, onError = hooks.onError } = patch.hooks;
    hooks = Object.freeze({ onHit, onMiss, onError });
  }

  const memoize = (<A extends unknown[], R>(fn: (...args: A) => R, options?: MemoizeOptions<A, Awaited<R>> | Ttl) => {
    const settings = parseFunctionOptions(fn, options, creation);
    const version = settings.version === undefined ? '' : ` version ${settings.version}`;
    registry.claim(`${settings.keyPrefix}:${settings.name}${version}`, fn);
    const own = storeOf(settings.storeChoice);
    const target = own ?? store;
    if (settings.tags !== undefined && target !== undefined && !supportsTags(target)) {
      throw new TypeError(
        `cache-memoize: ${settings.name} has tags, but its store does not implement getTagged, tagEpoch and ` +
          'invalidateTags (RedisStore and MemoryStore do)',
      );
    }
    if (settings.lock) {
      locking = true;
      prepare(own ?? store);
    }
    return createMemoized<A, Awaited<R>>(fn as (...args: A) => Awaited<R>, settings, context, own);
  }) as Memoize;
  memoize.configure = configure;
  memoize.memoized = (options) => decoratorOf(memoize as never, options);
  memoize.ready = (timeout) =>
    whenReady(
      {
        store: context.store,
        storeSettings: () => storeSettings,
        probeKey: () => `${creation.keyPrefix ?? DEFAULT_KEY_PREFIX}:ready`,
      },
      timeout,
    );
  memoize.invalidateTags = (tags: readonly string[]) => {
    try {
      return invalidateTagsOf(context.store(), storeSettings, liveTaggedTiers, tags);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  configure(defaults);
  return memoize;
}

const processWide = createMemoizer();

/**
 * The process-wide memoizer. Configure its store once at startup with {@link configure}.
 * @see {@link Memoize} for parameters and examples.
 */
export const memoize: Memoize = processWide;

/**
 * Sets the process-wide store and defaults used by {@link memoize}. The store, the hooks, `timeout`,
 * `circuitBreaker` and `maxValueBytes` apply to functions already made as well (unless a function
 * set its own store or setting; the hooks of both run); `ttl`, `keyPrefix`, `lock`, `lockTtl`,
 * `lockWait`, `awaitWrite`, `staleTtl`, `earlyRefresh`, `local` and `clone` only to functions made afterwards.
 * See {@link Memoize.configure}.
 *
 * @example
 * ```ts
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * configure({ client, keyPrefix: 'blog', onError: ({ error }) => log.warn(error) });
 * ```
 */
export function configure(options: MemoizerOptions): void {
  processWide.configure(options);
}

/**
 * Resolves `true` once the process-wide memoizer's store answers, or `false` at `timeout`
 * (default 5000 ms); never rejects for a store that is down. Calls made before then run uncached,
 * and explicit operations (`invalidate`, `refresh`, `invalidateAll`) reject.
 *
 * @example
 * ```ts
 * configure({ client: createResilientClient(url) });
 * if (!(await ready('3s'))) console.warn('Redis is not answering yet: calls run uncached');
 * ```
 */
export function ready(timeout?: number | DurationString): Promise<boolean> {
  return processWide.ready(timeout);
}

/**
 * A standard (TC39 / TypeScript 5) decorator that memoizes an async method with the process-wide
 * memoizer. The instance is part of every key through `instanceKey` (required on instance methods:
 * `false` shares entries between all instances). Each instance's method carries the controls,
 * bound to it; in TypeScript reach them with {@link memoizedOf}. The default name is
 * `Class.method`. Options are checked when the class is defined, and the method's function is
 * registered when its first instance is constructed.
 *
 * @example
 * ```ts
 * class PostRepo {
 *   constructor(readonly tenant: string) {}
 *   @memoized({ ttl: '1h', instanceKey: (repo) => repo.tenant })
 *   async find(id: number): Promise<Post> { return db.posts.find(this.tenant, id); }
 * }
 * await repo.find(42);
 * await memoizedOf(repo.find).invalidate(42); // in JavaScript: repo.find.invalidate(42)
 * ```
 */
export const memoized: Memoize['memoized'] = (options) => processWide.memoized(options);

/**
 * Invalidates every entry carrying any of `tags`, through the process-wide memoizer's store: see
 * {@link Memoize.invalidateTags}.
 *
 * @example
 * ```ts
 * const getRelatedPosts = memoize(relatedPosts, {
 *   ttl: '1h',
 *   tags: (result) => result.keywords.map((k) => `kw:${k}`),
 * });
 * await invalidateTags(['kw:redis', 'kw:node']);
 * ```
 */
export function invalidateTags(tags: readonly string[]): Promise<void> {
  return processWide.invalidateTags(tags);
}

import type { LocalTier } from './engine/local-tier';
import { invalidateTags as invalidateTagsOf } from './engine/tag-invalidation';
import { supportsTags } from './engine/tagging';
import { MemoizeError } from './errors';
import { createMemoized, type Memoized } from './memoize';
import type { Hooks, MemoizeOptions, MemoizerOptions, Ttl } from './options';
import { parseFunctionOptions, parseMemoizerOptions } from './parse-options';
import {
  applyCreation,
  applyStoreSettings,
  type CreationSettings,
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
   * @throws TypeError for invalid options, a missing name, or a different function already
   * registered under the same `keyPrefix:name` in this memoizer
   *
   * @example
   * ```ts
   * const getRelatedPosts = memoize(async function getRelatedPosts(id: number) {
   *   return db.related(id);
   * }, { ttl: '1h', keyPrefix: 'blog' });
   * ```
   */
  <A extends unknown[], R>(
    fn: (...args: A) => R,
    options?: MemoizeOptions<A, Awaited<R>> | Ttl,
  ): Memoized<A, Awaited<R>>;
  /**
   * Changes this memoizer's defaults; given fields replace earlier ones. The store, hooks, `timeout`,
   * `circuitBreaker` and `maxValueBytes` apply to functions already made (unless a function set its
   * own); `ttl` and `keyPrefix` only to functions made afterwards.
   */
  configure(options: MemoizerOptions): void;
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
  const registry = new Map<string, unknown>();
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
    const id = `${settings.keyPrefix}:${settings.name}`;
    const existing = registry.get(id);
    if (existing !== undefined && existing !== fn) {
      throw new TypeError(
        `cache-memoize: another function is already memoized as '${id}'; give this one a different name or keyPrefix`,
      );
    }
    const own = storeOf(settings.storeChoice);
    const target = own ?? store;
    if (settings.tags !== undefined && target !== undefined && !supportsTags(target)) {
      throw new TypeError(
        `cache-memoize: ${settings.name} has tags, but its store does not implement getTagged, tagEpoch and ` +
          'invalidateTags (RedisStore and MemoryStore do)',
      );
    }
    registry.set(id, fn);
    if (settings.lock) {
      locking = true;
      prepare(own ?? store);
    }
    return createMemoized<A, Awaited<R>>(fn as (...args: A) => Awaited<R>, settings, context, own);
  }) as Memoize;
  memoize.configure = configure;
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
 * Sets the process-wide store and defaults used by {@link memoize}.
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

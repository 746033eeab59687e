import { MemoizeError } from './errors';
import { createMemoized, type Memoized } from './memoize';
import {
  applySettings,
  CREATION_KEYS,
  type CreationDefaults,
  DEFAULT_KEY_PREFIX,
  DEFAULT_STORE_SETTINGS,
  DEFAULT_TTL,
  type Hooks,
  type MemoizeOptions,
  type MemoizerOptions,
  resolveOptions,
  storeSettingsOf,
  type Ttl,
  validateMemoizerOptions,
} from './options';
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
  const creation: CreationDefaults = { ttl: DEFAULT_TTL, keyPrefix: DEFAULT_KEY_PREFIX };
  let hooks: Hooks = {};
  let storeSettings = DEFAULT_STORE_SETTINGS;
  const registry = new Map<string, unknown>();

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
  };

  function configure(options: MemoizerOptions): void {
    const named = validateMemoizerOptions(options, 'configure()');
    if (named !== undefined) store = named;
    for (const key of CREATION_KEYS) {
      if (options[key] !== undefined) (creation as unknown as Record<string, unknown>)[key] = options[key];
    }
    const changed = storeSettingsOf(options);
    if (Object.keys(changed).length > 0) storeSettings = applySettings(storeSettings, changed);
    const { onHit = hooks.onHit, onMiss = hooks.onMiss, onError = hooks.onError } = options;
    hooks = { onHit, onMiss, onError };
  }

  const memoize = (<A extends unknown[], R>(fn: (...args: A) => R, options?: MemoizeOptions<A, Awaited<R>> | Ttl) => {
    const resolved = resolveOptions(fn, options, creation);
    const id = `${resolved.keyPrefix}:${resolved.name}`;
    const existing = registry.get(id);
    if (existing !== undefined && existing !== fn) {
      throw new TypeError(
        `cache-memoize: another function is already memoized as '${id}'; give this one a different name or keyPrefix`,
      );
    }
    registry.set(id, fn);
    return createMemoized<A, Awaited<R>>(fn as (...args: A) => Awaited<R>, resolved, context);
  }) as Memoize;
  memoize.configure = configure;
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

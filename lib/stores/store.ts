/** What {@link Store.begin} found: the value if one landed meanwhile, else the entry's generation token. */
export type Begin = { value: string; token?: undefined } | { value?: undefined; token: string };

/**
 * The contract every store implements ({@link RedisStore}, {@link MemoryStore}, or your own).
 *
 * Keys come from the library's key module: an entry's value lives at `valueKey` and its generation
 * token at a sibling key in the same hash slot. Values are opaque envelope strings. Lifetimes are in
 * milliseconds; `Infinity` means no expiry.
 *
 * The race-safety rule a store must keep: {@link Store.set} writes only while the entry's token is the
 * one {@link Store.begin} or {@link Store.rotate} handed out, checked atomically with the write; and
 * {@link Store.delete}, {@link Store.rotate} and {@link Store.deleteMatching} remove the token, so a
 * computation that began before them can never write after them.
 */
export interface Store {
  /**
   * The stored envelope, or `undefined` or `null` when there is none. This is the whole hit path:
   * keep it to one round trip.
   */
  get(valueKey: string): Promise<string | null | undefined>;
  /**
   * Called on a miss before computing: atomically, the value if it exists now, otherwise the entry's
   * token, created (and kept for `tokenTtlMs`) if there is none.
   */
  begin(valueKey: string, tokenTtlMs: number): Promise<Begin>;
  /**
   * Writes `value` with lifetime `ttlMs` if the entry's token still equals `token`, and extends the
   * token's lifetime to `tokenTtlMs`. Resolves `true` if written, `false` if the token had changed.
   */
  set(valueKey: string, token: string, value: string, ttlMs: number, tokenTtlMs: number): Promise<boolean>;
  /** Deletes the value and the token in one atomic step. */
  delete(valueKey: string): Promise<void>;
  /** Deletes the value and replaces the token with a new one, atomically; resolves the new token. */
  rotate(valueKey: string, tokenTtlMs: number): Promise<string>;
  /**
   * Deletes every entry (value and token) whose key starts with `keyPrefix`; resolves how many keys.
   * A store that needs several round trips runs each one through `bound`, which rejects when it
   * misses the caller's deadline (or the store is known to be down, without running it).
   */
  deleteMatching(keyPrefix: string, bound?: <T>(roundTrip: () => Promise<T>) => Promise<T>): Promise<number>;
  /**
   * Optional: `false` when the store knows it cannot answer now (its client is not connected), so calls
   * skip it at once instead of waiting for a deadline or filling an offline queue.
   */
  isReady?(): boolean;
}

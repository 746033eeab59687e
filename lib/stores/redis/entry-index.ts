import { DELETED_SUFFIXES, deletedKeysOf, entryIndexKey, functionPrefixOfValueKey } from '../../key';
import type { EnrollRequest, RoundTrip, WriteRequest } from '../store';
import type { RedisDriver } from './driver';
import { INDEX_PRUNE_MS } from './scripts';
import { DELETE_PAGE, INDEX_ADD, INDEX_PAGE } from './tag-scripts';
import type { RunScript } from './tags';

// Lua's unpack is bounded (about 8,000 values): a page's keys (four per entry) stay well below it.
const MAX_PAGE = 1000;

function unbounded<T>(roundTrip: () => Promise<T>): Promise<T> {
  return roundTrip();
}

/** The index of the function an entry's value key belongs to. */
export function indexKeyOf(valueKey: string): string {
  return entryIndexKey(functionPrefixOfValueKey(valueKey) ?? `${valueKey}:`);
}

/**
 * Each function's entry index: a sorted set of the value keys whose tokens live, scored by when
 * they expire. An entry joins it when its token is created and is kept in it by each write (on one
 * server inside the entry scripts; on a cluster by {@link EntryIndex.add}, sent with them), so
 * `invalidateAll` reads its own entries, page by page, instead of scanning the keyspace.
 */
export class EntryIndex {
  readonly #pageSize: number;

  constructor(
    readonly driver: RedisDriver,
    readonly run: RunScript,
    readonly oneServer: boolean,
    pageSize: number,
  ) {
    this.#pageSize = Math.min(pageSize, MAX_PAGE);
  }

  /**
   * A cluster: puts an entry in its index for as long as its token lives, awaited by the library
   * alongside the `begin` or `rotate` that creates the token (see {@link Store.enroll}).
   */
  enroll({ key, tokenTtlMs }: EnrollRequest): Promise<void> {
    return this.run(INDEX_ADD, [indexKeyOf(key)], { member: key, tokenTtlMs });
  }

  /**
   * A cluster: raises an entry's score to its token's new expiry after a write, not waited for, unless
   * the computation enrolled the entry less than half the pruning margin ago: that enrollment's score
   * is then at most that much short of the token's, and pruning waits the whole margin past it.
   */
  keep({ key, tokenTtlMs, enrolledMsAgo }: WriteRequest): void {
    if (enrolledMsAgo !== undefined && enrolledMsAgo < INDEX_PRUNE_MS / 2) return;
    this.run(INDEX_ADD, [indexKeyOf(key)], { member: key, tokenTtlMs }).catch(() => {});
  }

  /**
   * Deletes every entry in the index of the function whose entries start with `entriesPrefix` (or
   * whose function prefix it is): one
   * script per page on one server; on a cluster, a page read, then its entries unlinked in parallel
   * (they live in many slots), their removal from the index going with the next page's read. Entries
   * added after it started (tokens created since) may stay: they began after it.
   */
  async deleteAll(entriesPrefix: string, bound: RoundTrip = unbounded): Promise<number> {
    const index = entryIndexKey(entriesPrefix.endsWith('{') ? entriesPrefix.slice(0, -1) : entriesPrefix);
    return this.oneServer ? this.#deleteOnOneServer(index, bound) : this.#deleteOnCluster(index, bound);
  }

  async #deleteOnOneServer(index: string, bound: RoundTrip): Promise<number> {
    const request = { count: this.#pageSize, suffixes: DELETED_SUFFIXES };
    let keys = 0;
    let budget = Number.POSITIVE_INFINITY;
    for (let seen = 0; seen < budget; ) {
      const page = await bound(() => this.run(DELETE_PAGE, [index], request));
      if (page.entries === 0) break;
      if (budget === Number.POSITIVE_INFINITY) budget = page.entries + page.remaining;
      seen += page.entries;
      keys += page.keys;
      if (page.remaining === 0) break;
    }
    return keys;
  }

  async #deleteOnCluster(index: string, bound: RoundTrip): Promise<number> {
    let keys = 0;
    let done: Array<readonly [string, string]> = [];
    let budget = Number.POSITIVE_INFINITY;
    for (let seen = 0; ; ) {
      const request = { count: this.#pageSize, done };
      const page = await bound(() => this.run(INDEX_PAGE, [index], request));
      if (page.members.length === 0 || seen >= budget) break;
      if (budget === Number.POSITIVE_INFINITY) budget = page.remaining;
      const unlinkAll = () => Promise.all(page.members.map(([m]) => this.driver.unlink(deletedKeysOf(m))));
      for (const n of await bound(unlinkAll)) keys += n;
      seen += page.members.length;
      done = page.members;
    }
    return keys;
  }
}

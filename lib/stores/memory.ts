import { randomUUID } from 'node:crypto';
import {
  deletedKeysOf,
  lockKeyOf,
  sideEntriesPrefix,
  stampKeyOf,
  tagKey,
  tokenKeyOf,
  valueKeyOf,
  waitersKeyOf,
} from '../key';
import { ChangeFeed } from './change-feed';
import { Releases } from './releases';
import type {
  Begin,
  BeginRequest,
  DeleteMatchingRequest,
  InvalidateTagsRequest,
  ReadManyRequest,
  ReleaseRequest,
  RotateRequest,
  Store,
  TaggedValue,
  TagStamp,
  Tracking,
  Waiting,
  WaitRequest,
  WriteRequest,
} from './store';
import { encodeStamp, parseStamp, stampHolds, TAG_FLOOR_MS, tagsOf } from './tag-stamp';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys kept (an entry uses two: value and token; a tagged one also its stamp, and each tag
   * one key); the least recently used go first. An evicted tag key invalidates its entries.
   * @default 10000
   */
  maxKeys?: number;
  /**
   * The clock, in milliseconds. Inject one to test expiry without waiting.
   * @default Date.now
   */
  now?: () => number;
}

interface Slot {
  data: string;
  expiresAt: number;
}

/**
 * An in-process {@link Store} with the same semantics as {@link RedisStore}: TTLs, generation tokens,
 * atomic conditional writes. For a single-process app, and for your own unit tests.
 * Values are stored encoded, so a cached result is a copy, exactly as with Redis.
 *
 * @example
 * ```ts
 * configure({ store: new MemoryStore({ maxKeys: 1000 }) });
 * ```
 */
export class MemoryStore implements Store {
  readonly #slots = new Map<string, Slot>();
  readonly #releases = new Releases();
  readonly #feed = new ChangeFeed();
  readonly #tracking: Tracking = {
    watch: (functionPrefix, listener) => this.#feed.add(functionPrefix, listener),
    covers: () => true,
  };
  readonly #maxKeys: number;
  readonly #now: () => number;
  // Not a slot: evicting the epoch would let it go back, and stamps from before would pass again.
  #epoch = 0;

  constructor(options: MemoryStoreOptions = {}) {
    const { maxKeys = 10_000, now = Date.now } = options;
    if (!Number.isInteger(maxKeys) || maxKeys < 2) {
      throw new TypeError(`MemoryStore: maxKeys must be an integer of at least 2, got ${String(maxKeys)}`);
    }
    if (typeof now !== 'function') throw new TypeError('MemoryStore: now must be a function returning milliseconds');
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  /** Number of live keys (values and tokens); for tests and metrics. */
  get size(): number {
    this.#sweep();
    return this.#slots.size;
  }

  async get(valueKey: string): Promise<string | null> {
    return this.#read(valueKey) ?? null;
  }

  async getMany({ keys }: ReadManyRequest): Promise<Array<string | null>> {
    return keys.map((key) => this.#read(key) ?? null);
  }

  async begin({ key: valueKey, tokenTtlMs, lock, ignoreValue = false, tagged = false }: BeginRequest): Promise<Begin> {
    if (!ignoreValue) {
      const found = tagged ? this.#readTagged(valueKey) : this.#read(valueKey);
      if (typeof found === 'string') return { value: found };
      if (found !== undefined) return found;
    }
    const tokenKey = tokenKeyOf(valueKey);
    let token = this.#read(tokenKey);
    if (token === undefined) {
      token = randomUUID();
      this.#write(tokenKey, token, tokenTtlMs);
    }
    if (lock === undefined) return { token };
    const lockKey = lockKeyOf(valueKey);
    const holder = this.#read(lockKey);
    if (holder === undefined) {
      this.#write(lockKey, lock.token, lock.ttlMs);
      return { token, locked: true };
    }
    if (!ignoreValue) this.#write(waitersKeyOf(valueKey), '1', lock.ttlMs);
    return { token, locked: false, holder };
  }

  async set({ key: valueKey, token, value, ttlMs, tokenTtlMs, lockToken, stamp }: WriteRequest): Promise<boolean> {
    const tokenKey = tokenKeyOf(valueKey);
    // A stamp that no longer holds (its tags were invalidated while it computed) is refused too.
    const written = this.#read(tokenKey) === token && (stamp === undefined || this.#stampHolds(stamp, ttlMs));
    if (written) {
      this.#write(valueKey, value, ttlMs);
      this.#write(tokenKey, token, tokenTtlMs);
      if (stamp === undefined) this.#slots.delete(stampKeyOf(valueKey));
      else this.#write(stampKeyOf(valueKey), encodeStamp(stamp), ttlMs);
      this.#feed.changed(valueKey);
    }
    if (lockToken !== undefined) this.#release(valueKey, lockToken);
    return written;
  }

  async release({ key, lockToken }: ReleaseRequest): Promise<void> {
    this.#release(key, lockToken);
  }

  waitFor(request: WaitRequest): Waiting {
    return this.#releases.waitFor(request);
  }

  #release(valueKey: string, lockToken: string): void {
    const lockKey = lockKeyOf(valueKey);
    if (this.#read(lockKey) !== lockToken) return;
    this.#slots.delete(lockKey);
    if (this.#slots.delete(waitersKeyOf(valueKey))) this.#releases.announce(valueKey);
  }

  async delete(valueKey: string): Promise<void> {
    for (const key of deletedKeysOf(valueKey)) this.#slots.delete(key);
    this.#feed.changed(valueKey);
  }

  async rotate({ key: valueKey, tokenTtlMs, lock }: RotateRequest): Promise<string> {
    const token = randomUUID();
    this.#slots.delete(valueKey);
    this.#slots.delete(stampKeyOf(valueKey));
    this.#feed.changed(valueKey);
    this.#write(tokenKeyOf(valueKey), token, tokenTtlMs);
    if (lock !== undefined) this.#write(lockKeyOf(valueKey), lock.token, lock.ttlMs);
    return token;
  }

  async deleteMatching({ prefix }: DeleteMatchingRequest): Promise<number> {
    // A computation in flight has a token and no value yet: its side keys are matched too.
    const side = sideEntriesPrefix(prefix);
    let count = 0;
    for (const key of [...this.#slots.keys()]) {
      if (!key.startsWith(prefix) && !key.startsWith(side)) continue;
      const valueKey = valueKeyOf(key);
      for (const k of deletedKeysOf(valueKey)) if (this.#slots.delete(k)) count++;
      this.#feed.changed(valueKey);
    }
    return count;
  }

  async getTagged(valueKey: string): Promise<TaggedValue | undefined> {
    return this.#readTagged(valueKey);
  }

  async tagEpoch(): Promise<string> {
    return String(this.#epoch);
  }

  /** Each tag key := the new epoch, living at least as long as before and at least the floor. */
  async invalidateTags({ tags }: InvalidateTagsRequest): Promise<void> {
    const epoch = ++this.#epoch;
    for (const key of new Set(tags.map(tagKey))) {
      const live = this.#live(key);
      const ttlMs = Math.max(live === undefined ? 0 : live.expiresAt - this.#now(), TAG_FLOOR_MS);
      this.#write(key, String(Math.max(epoch, Number(live?.data ?? 0))), ttlMs);
      this.#feed.changed(key);
    }
  }

  /** A tagged entry's value if its stamp holds (see {@link Store.getTagged}). */
  #readTagged(valueKey: string): TaggedValue | undefined {
    const value = this.#read(valueKey);
    const text = value === undefined ? undefined : this.#read(stampKeyOf(valueKey));
    const stamp = text === undefined ? undefined : parseStamp(text);
    if (value === undefined || stamp === undefined) return undefined;
    if (
      !stampHolds(
        stamp,
        stamp.tagKeys.map((k) => this.#read(k)),
      )
    )
      return undefined;
    return { value, tags: tagsOf(stamp) };
  }

  /** Makes the stamp's tag keys exist (at the current epoch) at least as long as the value; whether it holds. */
  #stampHolds(stamp: TagStamp, ttlMs: number): boolean {
    for (const tag of stamp.tags) {
      const key = tagKey(tag);
      const live = this.#live(key);
      // Twice the value's lifetime, as RedisStore does (there, each extension evicts local copies).
      if (live === undefined) this.#write(key, String(this.#epoch), 2 * ttlMs);
      else if (live.expiresAt < this.#now() + ttlMs) live.expiresAt = this.#now() + 2 * ttlMs;
    }
    const epoch = Number(stamp.epoch);
    return stamp.tags.every((tag) => Number(this.#read(tagKey(tag)) ?? Number.POSITIVE_INFINITY) <= epoch);
  }

  /** Changes are delivered synchronously, in this process: a local tier over this store is always covered. */
  tracking(): Tracking {
    return this.#tracking;
  }

  /** Remaining lifetime of a key in ms (`-1`: no expiry, `-2`: absent), like Redis `PTTL`. */
  pttl(key: string): number {
    const slot = this.#live(key);
    if (slot === undefined) return -2;
    return slot.expiresAt === Number.POSITIVE_INFINITY ? -1 : slot.expiresAt - this.#now();
  }

  #live(key: string): Slot | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.#now()) {
      this.#drop(key);
      return undefined;
    }
    return slot;
  }

  #read(key: string): string | undefined {
    const slot = this.#live(key);
    if (slot === undefined) return undefined;
    // Re-insert so Map order is least-recently-used first.
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return slot.data;
  }

  #write(key: string, data: string, ttlMs: number): void {
    this.#slots.delete(key);
    this.#slots.set(key, { data, expiresAt: this.#now() + ttlMs });
    // Evicting a token is safe: a write without its token is refused, never misapplied.
    for (const oldest of this.#slots.keys()) {
      if (this.#slots.size <= this.#maxKeys) break;
      this.#drop(oldest);
    }
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, slot] of this.#slots) if (slot.expiresAt <= now) this.#drop(key);
  }

  /** Expiry and eviction are changes too, as Redis reports them to trackers (local tiers). */
  #drop(key: string): void {
    this.#slots.delete(key);
    this.#feed.changed(key);
  }
}

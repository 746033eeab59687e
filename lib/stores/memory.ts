import { randomUUID } from 'node:crypto';
import { lockKeyOf, tokenKeyOf, valueKeyOf, waitersKeyOf } from '../key';
import { ChangeFeed } from './change-feed';
import { Releases } from './releases';
import type {
  Begin,
  BeginRequest,
  DeleteMatchingRequest,
  ReadManyRequest,
  ReleaseRequest,
  RotateRequest,
  Store,
  Tracking,
  Waiting,
  WaitRequest,
  WriteRequest,
} from './store';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys kept (an entry uses two: value and token); the least recently used go first.
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

  async begin({ key: valueKey, tokenTtlMs, lock, ignoreValue = false }: BeginRequest): Promise<Begin> {
    if (!ignoreValue) {
      const value = this.#read(valueKey);
      if (value !== undefined) return { value };
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

  async set({ key: valueKey, token, value, ttlMs, tokenTtlMs, lockToken }: WriteRequest): Promise<boolean> {
    const tokenKey = tokenKeyOf(valueKey);
    const written = this.#read(tokenKey) === token;
    if (written) {
      this.#write(valueKey, value, ttlMs);
      this.#write(tokenKey, token, tokenTtlMs);
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
    for (const key of [valueKey, tokenKeyOf(valueKey), lockKeyOf(valueKey)]) this.#slots.delete(key);
    this.#feed.changed(valueKey);
  }

  async rotate({ key: valueKey, tokenTtlMs, lock }: RotateRequest): Promise<string> {
    const token = randomUUID();
    this.#slots.delete(valueKey);
    this.#feed.changed(valueKey);
    this.#write(tokenKeyOf(valueKey), token, tokenTtlMs);
    if (lock !== undefined) this.#write(lockKeyOf(valueKey), lock.token, lock.ttlMs);
    return token;
  }

  async deleteMatching({ prefix }: DeleteMatchingRequest): Promise<number> {
    let count = 0;
    for (const key of [...this.#slots.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const valueKey = valueKeyOf(key);
      for (const k of [valueKey, tokenKeyOf(valueKey), lockKeyOf(valueKey)]) if (this.#slots.delete(k)) count++;
      this.#feed.changed(valueKey);
    }
    return count;
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

import { StoredError } from '../envelope/stored-error';
import type { StoreRead } from '../guard';
import { TAG_KEY_PREFIX, tagKey, tagOfKey } from '../key';
import { decode } from '../serializer';
import type { LocalSettings } from '../settings';
import type { Store, TaggedValue, Tracking } from '../stores/store';
import { shouldRefreshEarly } from './early-refresh';

/** Returned by {@link LocalTier.get} when the tier has no usable value. */
export const MISSING: unique symbol = Symbol('cache-memoize.missing');

interface Entry {
  readonly value: unknown;
  /** The value is a cached error: a hit rejects (told once, when kept, rather than on every hit). */
  readonly rejects: boolean;
  /** `clone`: the envelope, decoded anew for every hit. */
  readonly body: string | undefined;
  readonly expiresAt: number;
  /** The entry's freshness and compute time in the store, when it carries them (early refresh). */
  readonly freshUntil: number | undefined;
  readonly computeMs: number;
  /** The tier's insertion count when the entry last moved to the young end. */
  stamp: number;
  /** The keys of the tags it carries (a tagged function's). */
  readonly tagKeys: readonly string[] | undefined;
}

// A tracking that closed (its client ended, or its connection gave up) is replaced at most this often.
const REATTACH_EVERY_MS = 1000;

// Keys changed recently, for the reads in flight; past this many, older reads are all refused instead.
const MAX_REMEMBERED_CHANGES = 4096;

// Hits read the clock once per turn of the event loop (Date.now() was a third of a local hit's cost).
// Within a turn the tier hears no changes either: tracking pushes arrive as I/O, in a later turn. So
// an entry expires at most one turn late, and while its view of the store stands still.
let turnClock = 0;
let turnClockSet = false;

function clockOfThisTurn(): number {
  if (!turnClockSet) {
    turnClock = Date.now();
    turnClockSet = true;
    setImmediate(endTurn).unref();
  }
  return turnClock;
}

function endTurn(): void {
  turnClockSet = false;
}

/** A hit's answer from a `clone` entry (decoded anew) or a cached error (its rejection). */
function answerOf(entry: Entry): unknown {
  let value = entry.value;
  if (entry.body !== undefined) {
    const decoded = decode(entry.body);
    if (!decoded.ok) return MISSING;
    value = decoded.value;
  }
  return value instanceof StoredError ? value.rejection() : value;
}

/**
 * One function's in-process tier of decoded values in front of its store, kept consistent by the
 * store's change notifications ({@link Tracking}).
 *
 * The rule that keeps it from serving stale values: a value read from the store is kept only if the
 * read began while the store's changes were being delivered, and no change of that key (and no
 * "anything changed") arrived between the read's start and its answer. A change applied after the
 * read was answered arrives later and evicts the value. When the changes travel on another
 * connection than the reads (a tracking that hears every change, or the ioredis pair, whose pushes
 * arrive on its listener), the answer and the change can arrive in either order; both are covered.
 * When the tracking hears only the keys read through it ({@link LocalTier.reader}, every Redis
 * deployment), the reads whose answers may be kept are made there ({@link LocalTier.reading}).
 *
 * A tagged function's tier also watches the tag keys: a change of one evicts every value carrying
 * that tag, and refuses the answers of reads in flight that carry it, by the same rule.
 *
 * Recency is approximate: a hit moves its entry to the young end of the map only when it has aged
 * past half the capacity, so most hits are a lookup and nothing more.
 */
export class LocalTier {
  readonly #entries = new Map<string, Entry>();
  /** Change times of value keys and tag keys (they never share a name). */
  readonly #changed = new Map<string, number>();
  /** A tagged function's: the value keys held under each tag key. */
  readonly #byTag = new Map<string, Set<string>>();
  /** Counts changes heard; a read's ticket is its value when the read began. */
  #clock = 0;
  /** Reads whose ticket is below this began before an "anything changed" and are never kept. */
  #floor = 0;
  #inserted = 0;
  #store: Store | undefined;
  #tracking: Tracking | undefined;
  #unwatch: (() => void) | undefined;
  #unwatchTags: (() => void) | undefined;
  #failureReported = false;
  #reattachedAt = Number.NEGATIVE_INFINITY;
  /** Insertions after which a hit moves its entry to the young end: half the capacity. */
  readonly #recencyWindow: number;

  constructor(
    readonly functionPrefix: string,
    readonly settings: LocalSettings,
    /**
     * Told once per store when the tier cannot be used: the store reports no changes (`undefined`),
     * or its tracking stopped for good (`failure`, saying why).
     */
    readonly onFailure: (failure: Error | undefined) => void,
    /** The function tags its entries: tag changes evict too. */
    readonly tagged = false,
    /** The keys of a fixed tags list: read with each value it keeps, in the same round trip. */
    readonly fixedTagKeys: readonly string[] | undefined = undefined,
  ) {
    this.#recencyWindow = settings.maxEntries >>> 1;
  }

  /**
   * Follows `store`'s changes from now on (a new store empties the tier). A store that offers no
   * change notifications is reported to `onFailure`, and the tier stays empty.
   */
  attach(store: Store): void {
    if (store === this.#store) return;
    this.#unwatch?.();
    this.#unwatchTags?.();
    this.#unwatch = undefined;
    this.#unwatchTags = undefined;
    this.#store = store;
    this.#failureReported = false;
    this.#tracking = store.tracking?.();
    this.#forgetAll();
    if (this.#tracking === undefined) {
      this.onFailure(undefined);
      return;
    }
    this.#unwatch = this.#tracking.watch(this.functionPrefix, (key) => {
      if (key === null) this.#forgetAll();
      else this.forget(key);
    });
    if (this.tagged) {
      this.#unwatchTags = this.#tracking.watch(TAG_KEY_PREFIX, (key) => {
        const tag = key === null ? undefined : tagOfKey(key);
        if (tag === undefined) this.#forgetAll();
        else this.forgetTags([tag]);
      });
    }
  }

  /**
   * A hit's answer for `key`: its value, or a new rejection for a cached error (a native promise,
   * which no decoded value is); or {@link MISSING}.
   */
  get(key: string): unknown {
    const entry = this.#entries.get(key);
    if (entry === undefined) return MISSING;
    if (entry.expiresAt !== Number.POSITIVE_INFINITY && entry.expiresAt <= clockOfThisTurn()) {
      this.#drop(key);
      return MISSING;
    }
    if (this.#inserted - entry.stamp > this.#recencyWindow) this.#moveToYoungEnd(key, entry);
    // Kept small (its rare branches are functions of their own): a local hit inlines it.
    return entry.body === undefined && !entry.rejects ? entry.value : answerOf(entry);
  }

  #moveToYoungEnd(key: string, entry: Entry): void {
    this.#entries.delete(key);
    entry.stamp = ++this.#inserted;
    this.#entries.set(key, entry);
  }

  /** Whether a hit on `key` should refresh it early (XFetch on the entry's freshness and compute time). */
  refreshDue(key: string, beta: number, random: () => number): boolean {
    const entry = this.#entries.get(key);
    if (entry?.freshUntil === undefined) return false;
    return shouldRefreshEarly(Date.now(), entry.freshUntil, entry.computeMs, beta, random);
  }

  /** Asks the store for a new tracking, while the store is connected and not more than once a second. */
  #reattach(): void {
    const store = this.#store;
    if (store === undefined || store.isReady?.() === false) return;
    const now = Date.now();
    if (now - this.#reattachedAt < REATTACH_EVERY_MS) return;
    this.#reattachedAt = now;
    this.#store = undefined;
    this.attach(store);
  }

  /**
   * The tracking to read through when it delivers only the changes of keys read through it
   * ({@link Tracking.read}): a value read any other way is then never kept.
   */
  get reader(): Tracking | undefined {
    const tracking = this.#tracking;
    return tracking?.read === undefined ? undefined : tracking;
  }

  /**
   * How a read whose answer may be kept ({@link ticket} not negative) is made when the tracking
   * hears only what is read through it: on the tracking connection. If that read fails (its
   * connection dropped or closed), the store's own read answers instead, and the call's answer is
   * not kept: a failure of the tier's connection is not a failure of the store. `undefined`: read
   * the store as usual.
   */
  reading(store: Store, call: { ticket: number }): StoreRead | undefined {
    const reader = this.reader;
    if (reader === undefined || call.ticket < 0) return undefined;
    return (key, tagged) => {
      const tracked: Promise<string | TaggedValue | null | undefined> = tagged
        ? (reader.readTagged as NonNullable<Tracking['readTagged']>)(key, this.fixedTagKeys)
        : (reader.read as NonNullable<Tracking['read']>)(key);
      return tracked.catch((): Promise<string | TaggedValue | null | undefined> => {
        call.ticket = -1;
        return tagged ? (store.getTagged as NonNullable<Store['getTagged']>)(key) : store.get(key);
      });
    };
  }

  /** Taken before a store read: what {@link keep} needs to tell whether the answer may be kept. */
  ticket(): number {
    const tracking = this.#tracking;
    if (tracking === undefined) return -1;
    // A tracking that hears only what is read through it, and cannot read a tagged entry: nothing kept.
    if (this.tagged && tracking.read !== undefined && tracking.readTagged === undefined) return -1;
    if (tracking.covers(this.functionPrefix) && (!this.tagged || tracking.covers(TAG_KEY_PREFIX))) return this.#clock;
    if (tracking.failure !== undefined) {
      if (!this.#failureReported) {
        this.#failureReported = true;
        this.onFailure(tracking.failure);
      }
    } else if (tracking.closed === true) {
      this.#reattach();
    }
    return -1;
  }

  /**
   * Keeps a value read from the store under `ticket`, unless something changed since: see the class
   * comment. `body` is the stored envelope; `freshUntil` (writer's clock) caps the lifetime.
   */
  keep(
    key: string,
    ticket: number,
    value: unknown,
    body: string,
    freshUntil: number | undefined,
    computeMs = 0,
    tags?: readonly string[],
  ): void {
    if (ticket < this.#floor || (this.#changed.get(key) ?? -1) > ticket) return;
    const tagKeys = tags?.map(tagKey);
    if (tagKeys?.some((k) => (this.#changed.get(k) ?? -1) > ticket)) return;
    const { ttlMs, maxEntries, clone } = this.settings;
    let expiresAt = ttlMs === Number.POSITIVE_INFINITY ? ttlMs : Date.now() + ttlMs;
    if (freshUntil !== undefined && freshUntil < expiresAt) expiresAt = freshUntil;
    this.#drop(key);
    this.#entries.set(key, {
      value: clone ? undefined : value,
      rejects: value instanceof StoredError,
      body: clone ? body : undefined,
      expiresAt,
      freshUntil,
      computeMs,
      stamp: ++this.#inserted,
      tagKeys,
    });
    for (const k of tagKeys ?? []) {
      const held = this.#byTag.get(k);
      if (held === undefined) this.#byTag.set(k, new Set([key]));
      else held.add(key);
    }
    if (this.#entries.size > maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#drop(oldest.value);
    }
  }

  /** `key` changed (here or anywhere): drop it, and refuse the answers of reads in flight for it. */
  forget(key: string): void {
    this.#drop(key);
    this.#noteChange(key);
  }

  /**
   * Tags were invalidated (here or anywhere): drop every value carrying one, and refuse the answers
   * of reads in flight that carry one.
   */
  forgetTags(tags: readonly string[]): void {
    for (const tag of tags) {
      const k = tagKey(tag);
      for (const key of [...(this.#byTag.get(k) ?? [])]) this.#drop(key);
      this.#noteChange(k);
    }
  }

  #noteChange(key: string): void {
    if (this.#changed.size >= MAX_REMEMBERED_CHANGES) this.#refuseReadsInFlight();
    else this.#changed.set(key, ++this.#clock);
  }

  /** Removes a value and its place under its tags. */
  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    for (const k of entry.tagKeys ?? []) {
      const held = this.#byTag.get(k);
      held?.delete(key);
      if (held?.size === 0) this.#byTag.delete(k);
    }
  }

  /** Anything may have changed: drop every value, and refuse the answers of every read in flight. */
  #forgetAll(): void {
    this.#entries.clear();
    this.#byTag.clear();
    this.#refuseReadsInFlight();
  }

  /** The values held stay valid (their changes evicted them); only reads in flight lose their say. */
  #refuseReadsInFlight(): void {
    this.#changed.clear();
    this.#floor = ++this.#clock;
  }

  /** Empties the tier (this function's `invalidateAll`). */
  clear(): void {
    this.#forgetAll();
  }

  /** Number of values held; for tests and metrics. */
  get size(): number {
    return this.#entries.size;
  }
}

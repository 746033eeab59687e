import type { ChangeListener, TaggedValue } from '../store';
import { readTaggedThrough } from '../tag-stamp';
import type { TrackingSource } from './driver';
import { readBySlot } from './slots';

/** How a deployment's masters are found and tracked, one connection each. */
export interface PerMasterTrackingOptions {
  /** The addresses (`host:port`) of the masters now. */
  masters(): string[];
  /**
   * Starts tracking one master; `undefined` when it cannot be tracked yet (call `ready` once it can:
   * the masters are then looked at again at once).
   */
  track(address: string, ready: () => void): TrackingSource | undefined;
  /** Calls `listener` whenever the deployment says its masters changed; returns the way to stop. */
  onTopologyChange?(listener: () => void): () => void;
  /** How often the masters are looked at again anyway, in ms. */
  readonly checkEveryMs?: number;
  /**
   * The address of the master that serves `key` now: the local tier reads what it keeps through the
   * member of the key's master, and each master pushes only the changes of the keys read on it.
   */
  masterOf(key: string): string | undefined;
  /**
   * One server at a time (a Sentinel group's master): keys of several hash slots are read in one
   * `MGET`. A cluster's master refuses that, so there it is one `MGET` per slot.
   * @default false
   */
  readonly oneServer?: boolean;
}

const CHECK_EVERY_MS = 1000;

/**
 * Client tracking over the masters of a deployment (a Redis Cluster's masters, or the master a
 * Sentinel group names): one tracking connection per master, each hearing the changes of the keys
 * that master holds. A prefix is covered only while every master's tracking covers it, so while any
 * master's tracking is down (a failover, a master it cannot reach) the local tier is emptied and
 * bypassed as a whole, not for the slots of that master alone: the keys a master holds move with
 * reshards, and a whole-tier rule cannot get that wrong.
 *
 * A read is routed to the member of the master that serves the key now
 * ({@link PerMasterTrackingOptions.masterOf}), one `MGET` per hash slot (one for all on a single
 * master). A read its member cannot make (no member for that master yet, a slot that moved: `MOVED`
 * or `ASK`) fails, and the tier then reads the store and keeps nothing. A key moved to another master
 * by a reshard is deleted from the old one (`MIGRATE`), which pushes that change to whoever read it
 * there; a key that did not exist there moves silently, so the tier keeps nothing a miss finds.
 *
 * The masters are looked at again whenever the deployment reports a change, and every second: a
 * master that appears (a replica promoted, a node added) gets a tracking connection, one that is
 * gone has its connection closed, and each change of the set tells every listener "anything
 * changed". A master demoted to a replica keeps hearing the writes it replicates until then.
 */
export class PerMasterTracking implements TrackingSource {
  readonly #options: PerMasterTrackingOptions;
  readonly #stopTopology: () => void;
  readonly #members = new Map<string, TrackingSource>();
  /** The masters at the last look; one without a member (not trackable yet) is tried again. */
  #masters: string[] = [];
  /** Each watched prefix, its listeners, and the member subscriptions made for it. */
  readonly #watched = new Map<string, { listeners: Set<ChangeListener>; stops: Map<string, () => void> }>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  #failure: Error | undefined;

  constructor(options: PerMasterTrackingOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.#refresh(), options.checkEveryMs ?? CHECK_EVERY_MS);
    this.#timer.unref();
    this.#stopTopology = options.onTopologyChange?.(() => this.#refresh()) ?? (() => {});
    this.#refresh();
  }

  watch(functionPrefix: string, listener: ChangeListener): () => void {
    let watched = this.#watched.get(functionPrefix);
    if (watched === undefined) {
      watched = { listeners: new Set(), stops: new Map() };
      this.#watched.set(functionPrefix, watched);
      for (const [address, member] of this.#members) this.#subscribe(functionPrefix, address, member);
    }
    const entry = watched;
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size > 0 || this.#watched.get(functionPrefix) !== entry) return;
      for (const stop of entry.stops.values()) stop();
      this.#watched.delete(functionPrefix);
    };
  }

  /** The value at `key`, read on its master's tracking connection. */
  readonly read = async (key: string): Promise<string | null> => (await this.readKeys([key]))[0] ?? null;

  /** A tagged entry and its tag keys, each read on its master's tracking connection, checked. */
  readonly readTagged = (key: string, expected?: readonly string[]): Promise<TaggedValue | undefined> =>
    readTaggedThrough(this.readKeys, key, expected);

  /**
   * The values of `keys`, each on the tracking of its master now: one `MGET` per hash slot on a
   * cluster, one for all on a single master.
   */
  readonly readKeys = (keys: string[]): Promise<Array<string | null>> =>
    this.#options.oneServer === true ? this.#readOn(keys) : readBySlot(keys, (group) => this.#readOn(group));

  /** One `MGET` of `keys` (one master's) on the tracking of that master now; rejects if there is none. */
  #readOn(keys: string[]): Promise<Array<string | null>> {
    const address = this.#options.masterOf(keys[0] as string);
    const readKeys = address === undefined ? undefined : this.#members.get(address)?.readKeys;
    if (readKeys === undefined) {
      return Promise.reject(new Error('cache-memoize: no tracking connection to the master of this key'));
    }
    return readKeys(keys);
  }

  covers(functionPrefix: string): boolean {
    if (this.#closed || this.#masters.length === 0) return false;
    for (const address of this.#masters) if (this.#members.get(address)?.covers(functionPrefix) !== true) return false;
    return true;
  }

  /** Why tracking stopped for good: a master refused it (say, an ACL without CLIENT). */
  get failure(): Error | undefined {
    if (this.#failure === undefined) {
      for (const member of this.#members.values()) if (member.failure !== undefined) this.#failure = member.failure;
    }
    return this.#failure;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#stopTopology();
    for (const member of this.#members.values()) member.close();
    this.#members.clear();
    this.#everything();
  }

  /** Brings the members in line with the masters now. */
  #refresh(): void {
    if (this.#closed) return;
    let masters: string[];
    try {
      masters = this.#options.masters();
    } catch {
      return;
    }
    let changed = masters.length !== this.#masters.length || masters.some((m, i) => m !== this.#masters[i]);
    this.#masters = masters;
    for (const [address, member] of this.#members) {
      if (masters.includes(address) && !member.closed) continue;
      member.close();
      this.#members.delete(address);
      for (const { stops } of this.#watched.values()) {
        stops.get(address)?.();
        stops.delete(address);
      }
      changed = true;
    }
    for (const address of masters) {
      if (this.#members.has(address)) continue;
      const member = this.#options.track(address, () => this.#refresh());
      if (member === undefined) continue;
      this.#members.set(address, member);
      for (const prefix of this.#watched.keys()) this.#subscribe(prefix, address, member);
      changed = true;
    }
    if (this.failure !== undefined) this.close();
    else if (changed) this.#everything();
  }

  #subscribe(prefix: string, address: string, member: TrackingSource): void {
    const watched = this.#watched.get(prefix);
    if (watched === undefined) return;
    watched.stops.get(address)?.();
    watched.stops.set(
      address,
      member.watch(prefix, (key) => {
        for (const listener of [...watched.listeners]) listener(key);
      }),
    );
  }

  /** Tells every listener that anything may have changed. */
  #everything(): void {
    for (const { listeners } of this.#watched.values()) for (const listener of [...listeners]) listener(null);
  }
}

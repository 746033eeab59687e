import type { RedisClientType } from 'redis';
import type { MemoizeError } from '../../lib/errors';
import { decode } from '../../lib/serializer';
import { MemoryStore } from '../../lib/stores/memory';
import { RedisStore } from '../../lib/stores/redis/store';
import type {
  Begin,
  BeginRequest,
  DeleteMatchingRequest,
  ReadManyRequest,
  ReleaseRequest,
  RotateRequest,
  Store,
  StoreNeeds,
  Tracking,
  Waiting,
  WaitRequest,
  WriteRequest,
} from '../../lib/stores/store';

/** Both real stores, for tests that must hold for each. The Redis one needs a connected client. */
export function bothStores(client: () => RedisClientType): Array<[string, () => Store]> {
  return [
    ['RedisStore', () => new RedisStore(client())],
    ['MemoryStore', () => new MemoryStore()],
  ];
}

/**
 * The one pass-through store of the tests: it forwards everything to a real store and changes
 * nothing (locks, waits, tracking, failure descriptions and the shared circuit pass through too),
 * counting the calls that reach it and the operations still pending. Tests override a method to
 * hold an answer back or observe it.
 */
export class CountingStore implements Store {
  readonly calls = { get: 0, getMany: 0, begin: 0, set: 0, delete: 0, rotate: 0, deleteMatching: 0 };
  /** Operations started (reads included) and not yet settled: the memory a dead store could pin. */
  pending = 0;
  maxPending = 0;
  started = 0;
  readonly #unsettled = new Set<Promise<unknown>>();

  constructor(readonly inner: Store) {}

  /** The inner store's circuit, so the guard shares its breaker as it would without the wrapper. */
  get circuitKey(): object {
    return this.inner.circuitKey ?? this.inner;
  }
  get circuitKeyFor(): ((key: string) => object) | undefined {
    return this.inner.circuitKeyFor;
  }

  get(key: string): Promise<string | null | undefined> {
    this.calls.get++;
    return this.track(this.read(() => this.inner.get(key)));
  }

  /** Every single-entry read goes through here (the store's, and its tracking's): a test may hold it. */
  protected read<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }
  getMany(request: ReadManyRequest): Promise<ReadonlyArray<string | null | undefined>> {
    this.calls.getMany++;
    return this.track(this.inner.getMany?.(request) ?? Promise.all(request.keys.map((k) => this.inner.get(k))));
  }
  begin(request: BeginRequest): Promise<Begin> {
    this.calls.begin++;
    return this.track(this.inner.begin(request));
  }
  set(request: WriteRequest): Promise<boolean> {
    this.calls.set++;
    return this.track(this.inner.set(request));
  }
  delete(key: string): Promise<void> {
    this.calls.delete++;
    return this.track(this.inner.delete(key));
  }
  rotate(request: RotateRequest): Promise<string> {
    this.calls.rotate++;
    return this.track(this.inner.rotate(request));
  }
  deleteMatching(request: DeleteMatchingRequest): Promise<number> {
    this.calls.deleteMatching++;
    return this.track(this.inner.deleteMatching(request));
  }
  release(request: ReleaseRequest): Promise<void> {
    return this.track(this.inner.release?.(request) ?? Promise.resolve());
  }
  waitFor(request: WaitRequest): Waiting {
    return (
      this.inner.waitFor?.(request) ?? {
        promise: new Promise((r) => setTimeout(r, request.ms)),
        cancel: () => {},
      }
    );
  }
  isReady(): boolean {
    return this.inner.isReady?.() !== false;
  }
  /**
   * The inner store's tracking. One that hears only the keys read through it (`read`) is wrapped, so
   * that those reads are counted (as `get`) and pass through {@link read} too.
   */
  tracking(): Tracking | undefined {
    const tracking = this.inner.tracking?.();
    if (tracking?.read === undefined) return tracking;
    let wrapped = this.#wrapped.get(tracking);
    if (wrapped === undefined) {
      wrapped = this.#counted(tracking);
      this.#wrapped.set(tracking, wrapped);
    }
    return wrapped;
  }
  readonly #wrapped = new WeakMap<Tracking, Tracking>();

  #counted(inner: Tracking): Tracking {
    return throughTracking(inner, (work) => {
      this.calls.get++;
      return this.track(this.read(work));
    });
  }

  prepare(needs: StoreNeeds): void {
    this.inner.prepare?.(needs);
  }
  describeFailure(operation: string, error: unknown): MemoizeError {
    return this.inner.describeFailure?.(operation, error) as MemoizeError;
  }

  /** Resolves once every operation sent so far (releases included) has settled. */
  async settled(): Promise<void> {
    while (this.#unsettled.size > 0) await Promise.allSettled([...this.#unsettled]);
  }

  /** Counts `work` as pending until it settles. */
  protected track<T>(work: Promise<T>): Promise<T> {
    this.started++;
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    this.#unsettled.add(work);
    const done = () => {
      this.pending--;
      this.#unsettled.delete(work);
    };
    work.then(done, done);
    return work;
  }
}

/**
 * `inner` (a tracking that hears only the keys read through it) with each of its reads passed to
 * `around`, which runs it: a test counts or holds them. Everything else passes through.
 */
export function throughTracking(inner: Tracking, around: <T>(work: () => Promise<T>) => Promise<T>): Tracking {
  const { read, readTagged } = inner;
  return {
    watch: (prefix, listener) => inner.watch(prefix, listener),
    covers: (prefix) => inner.covers(prefix),
    get failure() {
      return inner.failure;
    },
    get closed() {
      return inner.closed;
    },
    ...(read === undefined ? {} : { read: (key: string) => around(() => read(key)) }),
    ...(readTagged === undefined
      ? {}
      : { readTagged: (key: string, tagKeys?: readonly string[]) => around(() => readTagged(key, tagKeys)) }),
  };
}

/** The value a store holds at `key`, decoded; `undefined` when there is none. */
export async function storedValue(store: Store, key: string): Promise<unknown> {
  const text = await store.get(key);
  if (text === null || text === undefined) return undefined;
  const decoded = decode(text);
  return decoded.ok ? decoded.value : undefined;
}

import type { RedisClientType } from 'redis';
import { decode } from '../../lib/serializer';
import { MemoryStore } from '../../lib/stores/memory';
import { RedisStore } from '../../lib/stores/redis';
import type { Begin, BeginOptions, LockRequest, Store, Tracking, Waiting } from '../../lib/stores/store';

/** Both real stores, for tests that must hold for each. The Redis one needs a connected client. */
export function bothStores(client: () => RedisClientType): Array<[string, () => Store]> {
  return [
    ['RedisStore', () => new RedisStore(client())],
    ['MemoryStore', () => new MemoryStore()],
  ];
}

/** Counts the calls that reach a real store; it changes nothing (locks and waits pass through too). */
export class CountingStore implements Store {
  readonly calls = { get: 0, begin: 0, set: 0, delete: 0, rotate: 0, deleteMatching: 0 };
  constructor(readonly inner: Store) {}
  get(key: string): Promise<string | null | undefined> {
    this.calls.get++;
    return this.inner.get(key);
  }
  begin(key: string, tokenTtlMs: number, options?: BeginOptions): Promise<Begin> {
    this.calls.begin++;
    return this.inner.begin(key, tokenTtlMs, options);
  }
  set(key: string, token: string, value: string, ttlMs: number, tokenTtlMs: number, lockToken?: string) {
    this.calls.set++;
    return this.inner.set(key, token, value, ttlMs, tokenTtlMs, lockToken);
  }
  delete(key: string): Promise<void> {
    this.calls.delete++;
    return this.inner.delete(key);
  }
  rotate(key: string, tokenTtlMs: number, lock?: LockRequest): Promise<string> {
    this.calls.rotate++;
    return this.inner.rotate(key, tokenTtlMs, lock);
  }
  deleteMatching(prefix: string, bound?: <T>(roundTrip: () => Promise<T>) => Promise<T>): Promise<number> {
    this.calls.deleteMatching++;
    return this.inner.deleteMatching(prefix, bound);
  }
  release(key: string, lockToken: string): Promise<void> {
    return this.inner.release?.(key, lockToken) ?? Promise.resolve();
  }
  waitFor(key: string, ms: number, since?: number): Waiting {
    return this.inner.waitFor?.(key, ms, since) ?? { promise: new Promise((r) => setTimeout(r, ms)), cancel: () => {} };
  }
  isReady(): boolean {
    return this.inner.isReady?.() !== false;
  }
  tracking(): Tracking | undefined {
    return this.inner.tracking?.();
  }
}

/** The value a store holds at `key`, decoded; `undefined` when there is none. */
export async function storedValue(store: Store, key: string): Promise<unknown> {
  const text = await store.get(key);
  if (text === null || text === undefined) return undefined;
  const decoded = decode(text);
  return decoded.ok ? decoded.value : undefined;
}
